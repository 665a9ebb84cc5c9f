package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEqualIgnoresPositions(t *testing.T) {
	parse := func(src string) *Config {
		t.Helper()
		c, _, err := Parse("k.conf", []byte(src), Options{ConfigID: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := parse(twoInstances)
	// the same objects, every one of them on other lines and columns
	moved := parse("# edited\n\n" + strings.ReplaceAll(twoInstances, "\n    ", "\n      "))
	if reflect.DeepEqual(base, moved) {
		t.Fatal("test is vacuous: the positions did not change")
	}
	if !Equal(base, moved) || !Equal(*base, *moved) || !Equal(base.Instances[1], moved.Instances[1]) {
		t.Error("configurations that differ only in positions are not Equal")
	}
	var nilCfg *Config
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"priority", base, parse(strings.Replace(twoInstances, "priority 150", "priority 151", 1)), false},
		{"VIP", base, parse(strings.Replace(twoInstances, "192.0.2.101/24", "192.0.2.102/24", 1)), false},
		{"prefix length", base, parse(strings.Replace(twoInstances, "192.0.2.101/24", "192.0.2.101/25", 1)), false},
		{"pointer field", base, parse(strings.Replace(twoInstances, "router_id A", "router_id A\n    vrrp_lower_prio_no_advert", 1)), false},
		{"instance order", base, parse(twoInstances[:strings.Index(twoInstances, "vrrp_instance VI_1")] + twoInstances[strings.Index(twoInstances, "vrrp_instance VI_2"):] + twoInstances[strings.Index(twoInstances, "vrrp_instance VI_1"):strings.Index(twoInstances, "vrrp_instance VI_2")]), false},
		{"nil and empty slices", Instance{Name: "a"}, Instance{Name: "a", VirtualIPs: []Address{}}, true},
		{"nil config", nilCfg, nilCfg, true},
		{"nil and non-nil config", nilCfg, base, false},
		{"addresses", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.1"), true},
		{"zones", netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%eth1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEqualAgreesWithCmp checks Equal against go-cmp with the options the
// tests use (positions ignored, nil = empty) on every pair of fixtures
// and on each fixture's printed and reparsed text.
func TestEqualAgreesWithCmp(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil || len(files) < 3 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	var cfgs []*Config
	for _, f := range files {
		c, _, _ := ParseFile(f, fixtureOpts())
		cfgs = append(cfgs, c)
		again, _, err := Parse("printed.conf", Format(c), Options{ConfigID: "main"})
		if err != nil {
			t.Fatalf("%s: reparse: %v", f, err)
		}
		if !Equal(c, again) {
			t.Errorf("%s: printed and reparsed is not Equal (cmp: %s)", f, cmp.Diff(c, again, cmpOpts...))
		}
	}
	for i, a := range cfgs {
		for j, b := range cfgs {
			want := cmp.Equal(a, b, cmpOpts...)
			if got := Equal(a, b); got != want {
				t.Errorf("Equal(%s, %s) = %v, cmp says %v", files[i], files[j], got, want)
			}
			for k := range min(len(a.Instances), len(b.Instances)) {
				want := cmp.Equal(a.Instances[k], b.Instances[k], cmpOpts...)
				if got := Equal(a.Instances[k], b.Instances[k]); got != want {
					t.Errorf("Equal(instance %d of %s, of %s) = %v, cmp says %v", k, files[i], files[j], got, want)
				}
			}
		}
	}
}

// ExampleEqual shows a reload check: the instance moved in the file (a
// comment was added above it) but is unchanged.
func ExampleEqual() {
	const conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n"
	old, _, _ := Parse("keepalived.conf", []byte(conf), Options{ConfigID: "x"})
	cur, _, _ := Parse("keepalived.conf", []byte("# reviewed\n"+conf), Options{ConfigID: "x"})
	fmt.Println(old.Instances[0].Pos, "->", cur.Instances[0].Pos)
	fmt.Println("unchanged:", Equal(old.Instances[0], cur.Instances[0]))
	// Output:
	// keepalived.conf:1:1 -> keepalived.conf:2:1
	// unchanged: true
}
