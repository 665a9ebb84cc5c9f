package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestKeywordsRegistry checks the registry against the decoder tables:
// every keyword kept verbatim or dropped by a block (the *Known tables)
// that keepalived.conf(5) documents has status KeywordNoEffect.
func TestKeywordsRegistry(t *testing.T) {
	ks := Keywords()
	if len(ks) != len(manKeywords) {
		t.Fatalf("%d keywords, man page lists %d", len(ks), len(manKeywords))
	}
	status := map[[2]string]KeywordStatus{}
	for _, k := range ks {
		status[[2]string{k.Block, k.Name}] = k.Status
		if (k.Status == KeywordUnknown) != (k.Block == "") {
			t.Errorf("%s: status %v with block %q", k.Name, k.Status, k.Block)
		}
	}
	tables := map[string]map[string]bool{"top": topKnown, "global_defs": globalKnown, "vrrp_instance": instanceKnown,
		"virtual_server": vsKnown, "virtual_server real_server": rsKnown, "vrrp_sync_group": sgKnown}
	for block, known := range tables {
		for name := range known {
			if st, ok := status[[2]string{block, name}]; ok && st != KeywordNoEffect {
				t.Errorf("%s %s is kept verbatim but its status is %v", block, name, st)
			}
		}
	}
}

// everyKeyword builds one configuration with every keyword of ks in its
// block, a block per keyword so that one keyword's arguments (none) do not
// disturb the next.
func everyKeyword(ks []Keyword) string {
	var b strings.Builder
	for i, k := range ks {
		b.WriteString(strings.Replace(k.Example, " N {", fmt.Sprintf(" N%d {", i), 1))
	}
	return b.String()
}

// TestEveryKeywordNoEffect parses a configuration with every keyword of
// the man page and checks that each keyword without effect, and only
// those, gets a WarningNoEffect warning naming it at its position.
func TestEveryKeywordNoEffect(t *testing.T) {
	ks := Keywords()
	src := everyKeyword(ks)
	_, warns, _ := Parse("every.conf", []byte(src), Options{ConfigID: "x", ReportNoEffect: true})
	got := map[string]bool{}
	lines := strings.Split(src, "\n")
	for _, w := range warns {
		if w.Kind != WarningNoEffect {
			continue
		}
		name, ok := strings.CutSuffix(w.Msg, ": "+NoEffectMsg)
		if !ok {
			t.Errorf("no-effect warning %q does not end in %q", w.Msg, NoEffectMsg)
			continue
		}
		if l := lines[w.Pos.Line-1]; !strings.HasPrefix(l[w.Pos.Col-1:], name) {
			t.Errorf("%s: warning for %s points at %q", w.Pos, name, l)
		}
		got[name] = true
	}
	for _, k := range ks {
		if want := k.Status == KeywordNoEffect; got[k.Name] != want && !(got[k.Name] && sameNameNoEffect(ks, k.Name)) {
			t.Errorf("%s (%s): no-effect warning %v, want %v", k.Name, k.Block, got[k.Name], want)
		}
	}
	_, warns, _ = Parse("every.conf", []byte(src), Options{ConfigID: "x"})
	for _, w := range warns {
		if w.Kind == WarningNoEffect {
			t.Fatalf("without ReportNoEffect: %v", w)
		}
	}
}

// sameNameNoEffect reports whether a keyword of that name has no effect
// in some block (a name may be documented in several).
func sameNameNoEffect(ks []Keyword, name string) bool {
	for _, k := range ks {
		if k.Name == name && k.Status == KeywordNoEffect {
			return true
		}
	}
	return false
}

func TestNoEffectStrict(t *testing.T) {
	src := "global_defs {\n    tmp_config_directory /tmp\n}\n"
	_, warns, err := Parse("s.conf", []byte(src), Options{ConfigID: "x", Strict: true, ReportNoEffect: true})
	if err != nil {
		t.Fatalf("strict parse: %v", err)
	}
	want := fmt.Sprintf("s.conf:2:5: tmp_config_directory: %s", NoEffectMsg)
	if len(warns) != 1 || warns[0].String() != want || warns[0].Kind != WarningNoEffect {
		t.Errorf("warnings %v, want [%s]", warns, want)
	}
}
