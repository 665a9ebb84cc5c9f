package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that no input makes the parser panic, and that any
// configuration it produces prints to text that parses back to an equal
// configuration without warnings.
func FuzzParse(f *testing.F) {
	f.Add([]byte("global_defs {\n router_id x\n}\n"))
	f.Add([]byte("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 192.0.2.1/24 dev eth0 }\n}\n"))
	f.Add([]byte("$A=1\n$B=\\\nx $A\\\ny\n~SEQ(I,1,3) $B\n@x ~LST({a,b},{1,2}) ${a}${b}\n"))
	f.Add([]byte("virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n HTTP_GET {\n url { path / status_code 200-299 }\n }\n }\n}\n"))
	f.Add([]byte("\"\\x41\\101\\c\" '{' } { $X ${_RANDOM 1 2} ${_ENV E} # c ! d\n"))
	seeds, _ := filepath.Glob("testdata/*.conf")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := Options{ConfigID: "x", MaxExpandedSize: 1 << 20, Env: map[string]string{"E": "v"}, ReadFile: func(string) ([]byte, error) { return src, nil },
			Glob: func(string) ([]string, error) { return nil, nil }}
		c, warns1, err := Parse("fuzz.conf", src, opts)
		if c == nil {
			t.Fatal("nil config")
		}
		if err != nil {
			return
		}
		text := Format(c)
		c2, warns, err := Parse("printed.conf", text, Options{ConfigID: "x"})
		if err != nil || !warningsSubset(warns, warns1) {
			t.Fatalf("reparse: err=%v warnings=%v\n%s", err, warns, text)
		}
		if d := cmp.Diff(c, c2, cmpOpts...); d != "" {
			t.Fatalf("round trip mismatch (-parsed +reparsed):\n%s\n%s", d, text)
		}
	})
}
