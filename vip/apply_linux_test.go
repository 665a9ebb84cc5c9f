package vip_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
)

var cmpNetip = cmp.Options{
	cmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
	cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
}

// TestIntegrationApply drives one Manager through add, idempotent
// re-apply, change, repair after an outside deletion and removal, and
// checks the kernel after each step; an operator's address that the
// desired set also names is never taken over.
func TestIntegrationApply(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	a.Run(t, "ip", "addr", "add", "192.0.2.200/24", "dev", "eth0") // the operator's
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()

	v4 := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	v4Label := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:vip"}
	v6 := vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"}
	host := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.7/32"), Interface: "eth0", Scope: 254}
	operators := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.200/24"), Interface: "eth0"}
	r4 := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")}
	r4Metric := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2"), Metric: 100}
	r6 := vip.Route{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Gateway: netip.MustParseAddr("2001:db8::2")}
	u4 := vip.Rule{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100, Priority: 1000}
	u6 := vip.Rule{To: netip.MustParsePrefix("2001:db8:2::/48"), Table: 100} // kernel picks the priority

	apply := func(step string, s vip.Set, want vip.Changes) {
		t.Helper()
		got, err := m.Apply(ctx, s)
		if err != nil {
			t.Fatalf("%s: Apply: %v", step, err)
		}
		if diff := cmp.Diff(want, got, cmpNetip); diff != "" {
			t.Errorf("%s: Changes (-want +got):\n%s", step, diff)
		}
	}
	addrs := func() string { return a.Run(t, "ip", "-o", "addr", "show", "dev", "eth0") }
	routes := func() string {
		return a.Run(t, "ip", "route", "show", "proto", "keepalived") + a.Run(t, "ip", "-6", "route", "show", "proto", "keepalived")
	}
	rules := func() string { return a.Run(t, "ip", "rule", "show") + a.Run(t, "ip", "-6", "rule", "show") }
	expect := func(step, what, out string, present, absent []string) {
		t.Helper()
		for _, p := range present {
			if !strings.Contains(out, p) {
				t.Errorf("%s: %s lacks %q:\n%s", step, what, p, out)
			}
		}
		for _, p := range absent {
			if strings.Contains(out, p) {
				t.Errorf("%s: %s still has %q:\n%s", step, what, p, out)
			}
		}
	}

	s1 := vip.Set{
		Addresses: []vip.Address{v6, operators, v4},
		Routes:    []vip.Route{r6, r4},
		Rules:     []vip.Rule{u6, u4},
	}
	apply("add", s1, vip.Changes{
		Ops: []vip.Op{
			{Kind: vip.OpAddAddress, Address: v4},
			{Kind: vip.OpAddAddress, Address: v6},
			{Kind: vip.OpAddRoute, Route: r6},
			{Kind: vip.OpAddRoute, Route: r4},
			{Kind: vip.OpAddRule, Rule: u4},
			{Kind: vip.OpAddRule, Rule: u6},
		},
		Present: []vip.Op{{Kind: vip.OpAddAddress, Address: operators}},
	})
	expect("add", "addresses", addrs(), []string{"192.0.2.100/24", "2001:db8::100/64", "192.0.2.200/24"}, nil)
	expect("add", "routes", routes(), []string{"203.0.113.0/24 via 192.0.2.2", "2001:db8:1::/48 via 2001:db8::2"}, nil)
	expect("add", "rules", rules(), []string{"1000:\tfrom 192.0.2.100 lookup 100 proto keepalived", "to 2001:db8:2::/48 lookup 100 proto keepalived"}, nil)

	// Idempotent: nothing changes, the operator's address is still not ours.
	apply("again", s1, vip.Changes{Present: []vip.Op{{Kind: vip.OpAddAddress, Address: operators}}})
	if diff := cmp.Diff(vip.Set{Addresses: []vip.Address{v4, v6}, Routes: []vip.Route{r6, r4}, Rules: []vip.Rule{u4, u6}}, m.OwnedSet(), cmpNetip); diff != "" {
		t.Errorf("OwnedSet (-want +got):\n%s", diff)
	}

	// Change: a label, a new address, a route's metric; drop the IPv6
	// address and the operator's address (which must stay).
	s2 := vip.Set{
		Addresses: []vip.Address{v4Label, host},
		Routes:    []vip.Route{r6, r4Metric},
		Rules:     []vip.Rule{u4, u6},
	}
	apply("change", s2, vip.Changes{Ops: []vip.Op{
		{Kind: vip.OpRemoveRoute, Route: r4},
		{Kind: vip.OpRemoveAddress, Address: v4},
		{Kind: vip.OpRemoveAddress, Address: v6},
		{Kind: vip.OpAddAddress, Address: v4Label},
		{Kind: vip.OpAddAddress, Address: host},
		{Kind: vip.OpAddRoute, Route: r4Metric},
	}})
	expect("change", "addresses", addrs(), []string{"eth0:vip", "198.51.100.7/32 scope host", "192.0.2.200/24"}, []string{"2001:db8::100/64"})
	expect("change", "routes", routes(), []string{"203.0.113.0/24 via 192.0.2.2 dev eth0 metric 100"}, []string{"203.0.113.0/24 via 192.0.2.2 dev eth0 \n"})

	// Someone else deletes an owned address and route: Apply puts them back.
	a.Run(t, "ip", "addr", "del", "198.51.100.7/32", "dev", "eth0")
	a.Run(t, "ip", "route", "del", "203.0.113.0/24", "metric", "100")
	apply("repair", s2, vip.Changes{Ops: []vip.Op{
		{Kind: vip.OpAddAddress, Address: host},
		{Kind: vip.OpAddRoute, Route: r4Metric},
	}})
	expect("repair", "addresses", addrs(), []string{"198.51.100.7/32"}, nil)
	expect("repair", "routes", routes(), []string{"metric 100"}, nil)

	apply("remove", vip.Set{}, vip.Changes{Ops: []vip.Op{
		{Kind: vip.OpRemoveRule, Rule: u4},
		{Kind: vip.OpRemoveRule, Rule: u6},
		{Kind: vip.OpRemoveRoute, Route: r6},
		{Kind: vip.OpRemoveRoute, Route: r4Metric},
		{Kind: vip.OpRemoveAddress, Address: v4Label},
		{Kind: vip.OpRemoveAddress, Address: host},
	}})
	expect("remove", "addresses", addrs(), []string{"192.0.2.200/24", "192.0.2.1/24", "2001:db8::1/64"}, []string{"192.0.2.100", "198.51.100.7"})
	if out := routes(); out != "" {
		t.Errorf("remove: routes left:\n%s", out)
	}
	expect("remove", "rules", rules(), nil, []string{"lookup 100"})
	if diff := cmp.Diff(vip.Set{}, m.OwnedSet(), cmpNetip); diff != "" {
		t.Errorf("OwnedSet after removing all (-want +got):\n%s", diff)
	}
	if st := m.Stats(); st.Errors != 0 {
		t.Errorf("Stats.Errors = %d", st.Errors)
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, s1); err != vip.ErrClosed {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
}

// BenchmarkApplyNoop measures an Apply that finds nothing to change with
// 64 owned addresses, 16 routes and 16 rules: the read-back (one address
// dump, one route dump, one rule dump, a link lookup per address) and the
// plan.
func BenchmarkApplyNoop(b *testing.B) {
	testutil.RequireRoot(b)
	a, _ := testutil.NewPair(b)
	m, err := vip.New(vip.Config{NetNS: a.Path()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	var s vip.Set
	for i := range 64 {
		s.Addresses = append(s.Addresses, vip.Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), 32), Interface: "eth0"})
	}
	for i := range 16 {
		s.Routes = append(s.Routes, vip.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i * 16)}), 28), Gateway: netip.MustParseAddr("192.0.2.2")})
		s.Rules = append(s.Rules, vip.Rule{From: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}), 32), Table: 100, Priority: 1000 + i})
	}
	ctx := context.Background()
	if _, err := m.Apply(ctx, s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ch, err := m.Apply(ctx, s)
		if err != nil || len(ch.Ops) != 0 {
			b.Fatalf("Apply = %v, %v", ch, err)
		}
	}
}
