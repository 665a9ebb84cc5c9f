package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`abcd" efg h jkl "mnop`, []string{"abcd efg h jkl mnop"}},
		{`abcd "efg h jkl" mnop`, []string{"abcd", "efg h jkl", "mnop"}},
		{`"a\tb\n\x41\101\cA\E\"\\q"`, []string{"a\tb\nAA\x01\x1b\"\\q"}},
		{`'single "double" inside'`, []string{`single "double" inside`}},
		{`"\a\b\f\r\v\z\x"`, []string{"\a\b\f\r\vzx"}},
		{`x{ y }`, []string{"x{", "y", "}"}},
		{`{a} b`, []string{"{", "a", "}", "b"}},
		{`${UNDEF}x`, []string{"${UNDEF}x"}},
		{`"unterminated`, []string{"unterminated"}},
		{`""`, []string{""}},
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range tokenize(ltext{s: tt.in, base: 1}, Pos{Line: 1, Col: 1}, newPre(&Options{ConfigID: "x"})) {
			got = append(got, tok.text)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("tokenize(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestStripComment(t *testing.T) {
	tests := map[string]string{
		`a # b`:          `a `,
		`a ! b`:          `a `,
		`"a # b" ! c`:    `"a # b" `,
		`'x!y' z`:        `'x!y' z`,
		`"esc \" # in"#`: `"esc \" # in"`,
	}
	for in, want := range tests {
		if got := stripComment(in); got != want {
			t.Errorf("stripComment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpandBraces(t *testing.T) {
	got, ok := expandBraces("{foo/{,cat,dog},bar}.conf")
	want := []string{"foo/.conf", "foo/cat.conf", "foo/dog.conf", "bar.conf"}
	if d := cmp.Diff(want, got); d != "" || !ok {
		t.Errorf("ok %v, (-want +got):\n%s", ok, d)
	}
	if got, ok := expandBraces("a{b"); len(got) != 1 || got[0] != "a{b" || !ok {
		t.Errorf("unbalanced: %q, %v", got, ok)
	}
	// 2^12 names is the limit; 2^13 (or 2^40) is refused without
	// expanding them all.
	if got, ok := expandBraces(strings.Repeat("{a,b}", 12)); len(got) != maxBraceNames || !ok {
		t.Errorf("12 groups: %d names, %v; want %d, true", len(got), ok, maxBraceNames)
	}
	for _, n := range []int{13, 40} {
		if got, ok := expandBraces(strings.Repeat("{a,b}", n)); got != nil || ok {
			t.Errorf("%d groups: %d names, %v; want none, false", n, len(got), ok)
		}
	}
	_, _, err := Parse("m.conf", []byte("include /x"+strings.Repeat("{a,b}", 40)+"\n"), Options{ConfigID: "x", FS: fstest.MapFS{}})
	if err == nil || !strings.Contains(err.Error(), "brace expansion gives more than 4096 names") {
		t.Errorf("Parse with 2^40 include names: err = %v", err)
	}
}

func TestParseTimer(t *testing.T) {
	tests := []struct {
		in string
		us int64
		ok bool
	}{
		{"3", 3e6, true}, {"2.71828", 2718280, true}, {"0.000001", 1, true}, {".5", 5e5, true},
		{"1.1234567", 1123456, true}, {"-1", 0, false}, {"x", 0, false}, {"1.x", 0, false}, {"", 0, false}, {".", 0, false},
	}
	for _, tt := range tests {
		v, ok := parseTimer(tt.in)
		if ok != tt.ok || v.Microseconds() != tt.us {
			t.Errorf("parseTimer(%q) = %v, %v; want %dus, %v", tt.in, v, ok, tt.us, tt.ok)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "", "two words", `q"uote`, `back\slash`, "tab\there", "#hash", "!bang", "{brace}", "ctl\x01", "$dollar"} {
		toks := tokenize(ltext{s: quote(s)}, Pos{}, nil)
		if len(toks) != 1 || toks[0].text != s {
			t.Errorf("quote(%q) = %s, tokenized back to %+v", s, quote(s), toks)
		}
	}
}

func TestBooleans(t *testing.T) {
	src := `vrrp_instance V {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 192.0.2.1 }
    nopreempt yes
    smtp_alert off
    promote_secondaries maybe
}`
	c, warns, err := Parse("b.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	i := c.Instances[0]
	if !i.NoPreempt || i.SMTPAlert == nil || *i.SMTPAlert || i.PromoteSecondaries {
		t.Errorf("instance = %+v", i)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].String(), "b.conf:7:25: promote_secondaries: invalid boolean") {
		t.Errorf("warnings = %v", warns)
	}
}

func TestIncludeFS(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/k/keepalived.conf": {Data: []byte("include conf.d/*.conf\nincludem none.conf\n")},
		"etc/k/conf.d/a.conf":   {Data: []byte("global_defs {\n router_id A\n}\n")},
		"etc/k/loop.conf":       {Data: []byte("include loop.conf\n")},
		"etc/k/strict.conf":     {Data: []byte("includew conf.d/*.nomatch\nincludeb {conf.d/a,conf.d/b}.conf\ninclude_check\ninclude nothing.conf\n")},
	}
	c, _, err := ParseFile("/etc/k/keepalived.conf", Options{FS: fsys, ConfigID: "x"})
	if c.Global.RouterID != "A" {
		t.Errorf("router_id = %q", c.Global.RouterID)
	}
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 1 || !strings.Contains(el[0].Error(), `/etc/k/keepalived.conf:2:1: includem "/etc/k/none.conf": no such file`) {
		t.Errorf("err = %v", err)
	}
	if _, _, err := ParseFile("/etc/k/loop.conf", Options{FS: fsys}); err == nil || !strings.Contains(err.Error(), "include loop") {
		t.Errorf("loop: err = %v", err)
	}
	_, _, err = ParseFile("/etc/k/strict.conf", Options{FS: fsys})
	if !errors.As(err, &el) || len(el) != 3 {
		t.Fatalf("strict: err = %v", err)
	}
	for i, want := range []string{"no file matches the wildcard", `"/etc/k/conf.d/b.conf": no such file`, `nothing.conf": no such file`} {
		if !strings.Contains(el[i].Error(), want) {
			t.Errorf("strict error %d = %v, want %q", i, el[i], want)
		}
	}
	if _, _, err := ParseFile("/nope.conf", Options{FS: fsys}); !errors.Is(err, ErrRead) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing main file: %v", err)
	}
}

func TestIncludeHooks(t *testing.T) {
	files := map[string]string{"/x/main.conf": "include sub.conf\n", "/x/sub.conf": "global_defs {\n router_id S\n}\n"}
	opts := Options{
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		},
		Glob: func(p string) ([]string, error) {
			if _, ok := files[p]; ok {
				return []string{p}, nil
			}
			return nil, nil
		},
	}
	c, warns, err := ParseFile("/x/main.conf", opts)
	if err != nil || len(warns) != 0 || c.Global.RouterID != "S" {
		t.Errorf("c=%+v warns=%v err=%v", c.Global, warns, err)
	}
}

func TestStrictOption(t *testing.T) {
	_, warns, err := Parse("s.conf", []byte("foo bar\n"), Options{Strict: true, ConfigID: "x"})
	var el ErrorList
	if len(warns) != 0 || !errors.As(err, &el) || el.Error() != "config: s.conf:1:1: unknown keyword 'foo'" {
		t.Errorf("warns=%v err=%v", warns, err)
	}
	if len(el.Unwrap()) != 1 {
		t.Errorf("unwrap = %v", el.Unwrap())
	}
}

func TestPreprocessorEdges(t *testing.T) {
	tests := []struct {
		name, src string
		warn      string // substring of the first warning or error
	}{
		{"recursive", "$A=${A}x\nglobal_defs {\n router_id $A\n}\n", "does not terminate"},
		{"seq bad", "~SEQ(1, 2)\n", "expected (var"},
		{"seq num", "~SEQ(X, a)\n", "invalid number"},
		{"seq paren", "~SEQ(X, 2\n", "missing ')'"},
		{"lst bad", "~LST(X)\n", "~LST: expected"},
		{"lst count", "~LST({A,B}, {1})\n", "1 values for 2 variables"},
		{"random", "global_defs {\n router_id ${_RANDOM 9 1}\n}\n", "_RANDOM"},
		{"env", "global_defs {\n router_id ${_ENV}\n}\n", "_ENV"},
		{"brace", "{\n}\n", "unexpected '{'"},
		{"unclosed", "global_defs {\n", "not closed"},
		{"include_check", "include_check +bogus\n", "unknown include_check option"},
		{"include empty", "include \"\"\n", "expected a file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warns, err := Parse("e.conf", []byte(tt.src), Options{ConfigID: "x"})
			var all []string
			for _, w := range warns {
				all = append(all, w.String())
			}
			if err != nil {
				all = append(all, err.Error())
			}
			if len(all) == 0 || !strings.Contains(strings.Join(all, "\n"), tt.warn) {
				t.Errorf("got %q, want %q", all, tt.warn)
			}
		})
	}
}

func TestSeqDescending(t *testing.T) {
	src := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n ~SEQ(N, 3, 1) 192.0.2.${N}\n ~SEQ(M, -2) 198.51.100.1${M}\n ~SEQ(E, 5, 1, 4)\n }\n}\n"
	c, _, err := Parse("d.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range c.Instances[0].VirtualIPs {
		got = append(got, a.Prefix.Addr().String())
	}
	// 198.51.100.1-1 and .1-2 are not addresses: skipped with warnings
	if d := cmp.Diff([]string{"192.0.2.3", "192.0.2.2", "192.0.2.1"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestHostnameDefault(t *testing.T) {
	var o Options
	if id := o.configID(); strings.Contains(id, ".") {
		t.Errorf("config id %q contains a dot", id)
	}
	c, _, _ := Parse("h.conf", []byte("global_defs {\n router_id ${_INSTANCE}\n}\n"), Options{})
	if c.Global.RouterID != o.configID() {
		t.Errorf("router_id %q, want %q", c.Global.RouterID, o.configID())
	}
}

func TestExpansionBudget(t *testing.T) {
	src := "~SEQ(A, 1, 1000) ~SEQ(B, 1, 1000) ~SEQ(C, 1, 1000) x ${A} ${B} ${C}\n"
	_, _, err := Parse("big.conf", []byte(src), Options{ConfigID: "x", MaxExpandedSize: 1 << 16})
	if err == nil || !strings.Contains(err.Error(), "configuration expands to too much text") {
		t.Errorf("err = %v", err)
	}
}
func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"prority", "priority", 1}, {"prority", "advert_int", 3}, {"abc", "abc", 0}, {"", "ab", 2}, {"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, 3); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestColumnsAfterSubstitution checks that warnings point at the source
// column even when a definition changed the length of the line.
func TestColumnsAfterSubstitution(t *testing.T) {
	src := `$LONG=a_much_longer_replacement_text
$BAD=192.0.2.300
vrrp_instance V {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.1
    }
    unicast_peer {
        192.0.2.2 min_ttl ${LONG} max_ttl x
        ${BAD} min_ttl 1
    }
    @x priority $LONG
}
`
	_, warns, err := Parse("c.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.Pos.String())
	}
	want := []string{"c.conf:10:27", "c.conf:10:43", "c.conf:11:9", "c.conf:13:17"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("positions (-want +got):\n%s\n%v", d, warns)
	}
}
