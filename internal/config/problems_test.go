package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// twoInstances is a well-formed file with two instances; the structural
// cases below damage it the way an editor crash or a bad copy would.
const twoInstances = `global_defs {
    router_id A
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 150
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`

// cutAfter returns src up to and including the first line that contains
// marker.
func cutAfter(src, marker string) string {
	i := strings.Index(src, marker)
	j := strings.IndexByte(src[i:], '\n')
	return src[:i+j+1]
}

// problemStrings formats problems as "kind @ file:line:col".
func problemStrings(l ErrorList) []string {
	var out []string
	for _, e := range l {
		out = append(out, fmt.Sprintf("%s @ %s", e.Problem, e.Pos))
	}
	return out
}

func TestStructuralProblems(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		files map[string]string // included files, by name
		want  []string          // problems as "kind @ pos", in order
	}{
		{
			name: "cut after VI_1 priority",
			src:  cutAfter(twoInstances, "priority 150"),
			want: []string{"unclosed block @ k.conf:4:1"},
		},
		{
			name: "cut inside virtual_ipaddress",
			src:  cutAfter(twoInstances, "192.0.2.100/24"),
			want: []string{"unclosed block @ k.conf:4:1", "unclosed block @ k.conf:10:5"},
		},
		{
			name: "cut after the instance name",
			src:  cutAfter(twoInstances, "vrrp_instance VI_2 {") + "}\n" + "vrrp_instance VI_3\n",
			want: []string{"dropped object @ k.conf:14:1", "missing block @ k.conf:16:1"},
		},
		{
			name: "closing brace lost",
			src:  strings.Replace(twoInstances, "    }\n}\nvrrp_instance VI_2", "    }\nvrrp_instance VI_2", 1),
			want: []string{"unclosed block @ k.conf:4:1"},
		},
		{
			name: "one brace too many",
			src:  twoInstances + "}\n",
			want: []string{"unexpected brace @ k.conf:23:1"},
		},
		{
			name: "brace without keyword",
			src:  "{\n}\n" + twoInstances,
			want: []string{"unexpected brace @ k.conf:1:1"},
		},
		{
			name: "unterminated quote",
			src:  strings.Replace(twoInstances, "router_id A", `router_id "A`, 1),
			want: []string{"unterminated quote @ k.conf:2:15"},
		},
		{
			name: "cut inside a quoted string",
			src:  cutAfter(twoInstances, "advert_int") + "    notify_master \"/usr/local/bin/no",
			want: []string{"unclosed block @ k.conf:4:1", "unterminated quote @ k.conf:10:19"},
		},
		{
			name: "block keyword without block",
			src:  strings.Replace(twoInstances, "virtual_ipaddress {\n        192.0.2.101/24\n    }", "virtual_ipaddress", 1),
			want: []string{"missing block @ k.conf:19:5"},
		},
		{
			name: "instance dropped without virtual_router_id",
			src:  strings.Replace(twoInstances, "virtual_router_id 52", "virtual_router_id 52x", 1),
			want: []string{"dropped object @ k.conf:14:1"},
		},
		{
			name: "instance defined twice",
			src:  twoInstances + strings.Replace(twoInstances[strings.Index(twoInstances, "vrrp_instance VI_2"):], "52", "53", 1),
			want: []string{"dropped object @ k.conf:23:1"},
		},
		{
			name: "instance without name",
			src:  strings.Replace(twoInstances, "vrrp_instance VI_2 {", "vrrp_instance {", 1),
			want: []string{"dropped object @ k.conf:14:1"},
		},
		{
			name: "virtual server with an unreadable address",
			src:  twoInstances + "virtual_server 192.0.2.300 80 {\n    real_server 192.0.2.2 80 {\n    }\n}\n",
			want: []string{"dropped object @ k.conf:23:1"},
		},
		{
			name: "real server with an unreadable address",
			src:  twoInstances + "virtual_server 192.0.2.30 80 {\n    protocol TCP\n    real_server 192.0.2.2 80 {\n    }\n    real_server 192.0.2.3 x {\n    }\n}\n",
			want: []string{"dropped object @ k.conf:27:5"},
		},
		{
			name:  "included file cut",
			src:   "include inc.conf\n" + twoInstances,
			files: map[string]string{"inc.conf": "vrrp_script chk {\n    script /bin/true\n"},
			want:  []string{"unclosed block @ inc.conf:1:1"},
		},
		{
			name: "clean file",
			src:  twoInstances,
		},
		{
			name: "unknown keyword is only a warning",
			src:  strings.Replace(twoInstances, "advert_int 0.1", "advert_int 0.1\n    frobnicate on\n    frob_block {\n        x\n    }", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, s := range tt.files {
				fsys[n] = &fstest.MapFile{Data: []byte(s)}
			}
			c, _, err := Parse("k.conf", []byte(tt.src), Options{ConfigID: "x", FS: fsys})
			if c == nil {
				t.Fatal("nil config")
			}
			got := Problems(err)
			if d := cmp.Diff(tt.want, problemStrings(got)); d != "" {
				t.Errorf("problems (-want +got):\n%s\nerr: %v", d, err)
			}
			if want := len(tt.want) > 0; errors.Is(err, ErrStructure) != want {
				t.Errorf("errors.Is(err, ErrStructure) = %v, want %v (err %v)", !want, want, err)
			}
			for _, e := range got {
				// every problem names its file:line:col in its message
				if !strings.Contains(e.Error(), e.Pos.String()+": ") || e.Pos.Line == 0 || e.Pos.Col == 0 {
					t.Errorf("problem without a full position: %q", e.Error())
				}
			}
		})
	}
}

// TestStrictIsNotStructural checks that warnings made errors by
// Options.Strict stay distinguishable from structural problems.
func TestStrictIsNotStructural(t *testing.T) {
	src := strings.Replace(twoInstances, "advert_int 0.1", "advert_int 0.1\n    frobnicate on", 1)
	_, warns, err := Parse("k.conf", []byte(src), Options{ConfigID: "x", Strict: true})
	if err == nil || len(warns) != 0 {
		t.Fatalf("strict: warns=%v err=%v, want an error and no warnings", warns, err)
	}
	if p := Problems(err); p != nil || errors.Is(err, ErrStructure) {
		t.Errorf("Problems = %v, errors.Is(ErrStructure) = %v; want none", p, errors.Is(err, ErrStructure))
	}
	if Problems(errors.New("other")) != nil || Problems(nil) != nil {
		t.Error("Problems of a non-config error is not nil")
	}
}

func TestProblemString(t *testing.T) {
	for k, want := range map[Problem]string{NoProblem: "none", UnclosedBlock: "unclosed block", DroppedObject: "dropped object", numProblems: fmt.Sprintf("Problem(%d)", int(numProblems))} {
		if got := k.String(); got != want {
			t.Errorf("Problem(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
