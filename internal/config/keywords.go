package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing/fstest"
)

// NoEffectMsg is the text of a WarningNoEffect warning, after the keyword
// and ": ".
const NoEffectMsg = "accepted, has no effect in keepalived-go"

// KeywordStatus says what keepalived-go does with a keyword keepalived
// documents.
type KeywordStatus int

// Keyword statuses.
const (
	// KeywordParsed: the parser reads the keyword into a field of
	// [Config] (whether a given program acts on that field is up to it).
	KeywordParsed KeywordStatus = iota
	// KeywordNoEffect: accepted (kept verbatim in an Other field, or
	// dropped) and read by nothing; with Options.ReportNoEffect every
	// use gives a WarningNoEffect warning.
	KeywordNoEffect
	// KeywordUnknown: the parser does not know the keyword; every use
	// gives an "unknown keyword" warning, as a typo does.
	KeywordUnknown
)

// String returns the status as the keyword table shows it.
func (s KeywordStatus) String() string {
	switch s {
	case KeywordParsed:
		return "parsed"
	case KeywordNoEffect:
		return NoEffectMsg
	case KeywordUnknown:
		return "unknown keyword (warned, ignored)"
	}
	return fmt.Sprintf("KeywordStatus(%d)", int(s))
}

// Keyword is one keyword of keepalived.conf(5).
type Keyword struct {
	Name string
	// Section is the block the man page documents it in ("top" for the
	// top level, "global_defs", "vrrp_instance", "virtual_server", ...).
	Section string
	// Block is the block where the parser accepts it, written as the
	// keyword path from the top ("virtual_server real_server TCP_CHECK");
	// empty when Status is KeywordUnknown.
	Block  string
	Status KeywordStatus
	// Example is the configuration text that shows the status: the
	// keyword alone in Block (empty when Status is KeywordUnknown).
	Example string
}

type manKeyword struct{ name, section string }

// probe is a block where a keyword may be accepted: the keyword path and
// the text around the keyword line.
type probe struct {
	path        string
	before, aft string
}

func nest(path string, opens ...string) probe {
	var b, a strings.Builder
	for _, o := range opens {
		b.WriteString(o + " {\n")
		a.WriteString("}\n")
	}
	return probe{path: path, before: b.String(), aft: a.String()}
}

func probes() map[string][]probe {
	top := probe{path: "top"}
	vs := "virtual_server 192.0.2.1 80"
	rs := "real_server 192.0.2.2 80"
	checkers := []probe{nest("virtual_server", vs), nest("virtual_server real_server", vs, rs)}
	for _, c := range []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "MISC_CHECK", "FILE_CHECK", "BFD_CHECK"} {
		checkers = append(checkers, nest("virtual_server real_server "+c, vs, rs, c))
	}
	checkers = append(checkers,
		nest("virtual_server real_server HTTP_GET url", vs, rs, "HTTP_GET", "url"),
		nest("virtual_server real_server SMTP_CHECK host", vs, rs, "SMTP_CHECK", "host"),
		nest("SSL", "SSL"), top)
	named := func(block string) []probe { return []probe{nest(block, block+" N"), top} }
	return map[string][]probe{
		"top":                 {top},
		"global_defs":         {nest("global_defs", "global_defs"), top},
		"bfd_instance":        named("bfd_instance"),
		"linkbeat_interfaces": {nest("linkbeat_interfaces", "linkbeat_interfaces"), top},
		"track_group":         named("track_group"),
		"static":              {top},
		"vrrp_track_file":     named("vrrp_track_file"),
		"vrrp_track_process":  named("vrrp_track_process"),
		"vrrp_script":         named("vrrp_script"),
		"vrrp_sync_group":     named("vrrp_sync_group"),
		"garp_group":          {nest("garp_group", "garp_group"), top},
		"vrrp_instance": {nest("vrrp_instance", "vrrp_instance N"),
			nest("vrrp_instance authentication", "vrrp_instance N", "authentication"),
			nest("vrrp_instance auth_hmac", "vrrp_instance N", "auth_hmac"), top},
		"virtual_server_group": named("virtual_server_group"),
		"virtual_server":       checkers,
	}
}

// Keywords returns every keyword keepalived 2.4's keepalived.conf(5)
// documents, sorted by section and name, each with what the parser does
// with it. The status is found by parsing the keyword alone in each block
// of its section: the first block that does not call it unknown gives the
// status (no effect when that parse reports it with WarningNoEffect).
func Keywords() []Keyword {
	ps := probes()
	opts := Options{ConfigID: "x", FS: fstest.MapFS{}, ReportNoEffect: true}
	out := make([]Keyword, 0, len(manKeywords))
	for _, m := range manKeywords {
		k := Keyword{Name: m.name, Section: m.section, Status: KeywordUnknown}
		for _, p := range ps[m.section] {
			src := p.before + m.name + "\n" + p.aft
			_, warns, _ := Parse("probe.conf", []byte(src), opts)
			unknown, noEffect := false, false
			for _, w := range warns {
				unknown = unknown || strings.HasPrefix(w.Msg, "unknown keyword '")
				noEffect = noEffect || w.Kind == WarningNoEffect && w.Msg == m.name+": "+NoEffectMsg
			}
			if unknown {
				continue
			}
			k.Block, k.Status, k.Example = p.path, KeywordParsed, src
			if noEffect {
				k.Status = KeywordNoEffect
			}
			break
		}
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(a, b Keyword) int {
		return cmp.Or(cmp.Compare(a.Section, b.Section), cmp.Compare(a.Name, b.Name))
	})
	return out
}
