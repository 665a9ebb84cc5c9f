package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// fixtureOpts are the options used for every fixture: a fixed config id,
// environment and random source keep the output deterministic.
func fixtureOpts() Options {
	return Options{
		ConfigID: "main",
		Env:      map[string]string{"MAILFROM": "kgo@example.org"},
		Random:   func(lo, hi int) int { return hi },
	}
}

// TestFixtures parses every testdata/*.conf (and include/main.conf), and
// compares the warnings/errors and the canonical text with golden files.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/include/main.conf")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, warns, err := ParseFile(f, fixtureOpts())
			var report strings.Builder
			for _, w := range warns {
				report.WriteString("warning: " + w.String() + "\n")
			}
			if err != nil {
				report.WriteString("error: " + err.Error() + "\n")
			}
			golden(t, strings.TrimSuffix(f, ".conf")+".warnings", report.String())
			if c == nil {
				t.Fatal("nil config")
			}
			text := Format(c)
			golden(t, strings.TrimSuffix(f, ".conf")+".golden", string(text))
			roundTrip(t, c, warns)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

// roundTrip checks parse(print(c)) == c. The printed text may only give
// warnings that the original gave too (those that do not change the
// configuration, such as a reference to a missing track_file).
func roundTrip(t *testing.T, c *Config, orig []Warning) {
	t.Helper()
	text := Format(c)
	c2, warns, err := Parse("printed.conf", text, Options{ConfigID: "main"})
	if err != nil || !warningsSubset(warns, orig) {
		t.Fatalf("reparse of printed config: err=%v warnings=%v\n%s", err, warns, text)
	}
	if d := cmp.Diff(c, c2, cmpOpts...); d != "" {
		t.Errorf("round trip mismatch (-parsed +reparsed):\n%s\n%s", d, text)
	}
}

// warningsSubset reports whether every message of got is also in orig.
func warningsSubset(got, orig []Warning) bool {
	msgs := map[string]bool{}
	for _, w := range orig {
		msgs[w.Msg] = true
	}
	for _, w := range got {
		if !msgs[w.Msg] {
			return false
		}
	}
	return true
}
