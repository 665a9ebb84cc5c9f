package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpOpts = []cmp.Option{cmpopts.IgnoreTypes(Pos{}), cmpopts.EquateComparable(netipTypes...), cmpopts.EquateEmpty()}

func TestDbgRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/keepalived-samples/keepalived*")
	for _, f := range files {
		src, _ := os.ReadFile(f)
		c1, _, err := Parse(f, src, Options{ConfigID: "x"})
		if err != nil {
			t.Fatal(err)
		}
		out := Format(c1)
		c2, w2, err := Parse("printed", out, Options{ConfigID: "x"})
		if err != nil || len(w2) > 0 {
			t.Errorf("%s: %v %v\n%s", f, err, w2, out)
		}
		if d := cmp.Diff(c1, c2, cmpOpts...); d != "" {
			t.Errorf("%s: %s", f, d)
		}
	}
}
