package check_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nux-root/keepalived-go/check"
)

func TestCompileRegex(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		options []string
		match   []string
		noMatch []string
	}{
		{"plain", `status: (ok|up)`, nil, []string{"x status: ok y"}, []string{"status: down"}},
		{"caseless", `ready`, []string{"caseless"}, []string{"READY"}, []string{"rdy"}},
		{"multiline", `^ok$`, []string{"multiline"}, []string{"a\nok\nb"}, []string{"a ok b"}},
		{"dotall", `a.b`, []string{"dotall"}, []string{"a\nb"}, []string{"ab"}},
		{"anchored", `ok|fine`, []string{"anchored"}, []string{"ok then", "fine"}, []string{"not ok", "so fine"}},
		{"ignored hints", `ok`, []string{"utf", "no_start_optimize", "no_auto_capture"}, []string{"ok"}, []string{"ko"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := check.CompileRegex(tt.pattern, tt.options...)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.match {
				if !re.MatchString(s) {
					t.Errorf("%v does not match %q", re, s)
				}
			}
			for _, s := range tt.noMatch {
				if re.MatchString(s) {
					t.Errorf("%v matches %q", re, s)
				}
			}
		})
	}
}

// What RE2 cannot compile is a configuration error naming the construct,
// never a regex that is silently dropped.
func TestCompileRegexRejects(t *testing.T) {
	tests := []struct {
		name, pattern string
		options       []string
		wantIn        string
	}{
		{"lookahead", `foo(?=bar)`, nil, "lookahead"},
		{"negative lookbehind", `(?<!x)ok`, nil, "lookahead"},
		{"atomic group", `(?>a+)b`, nil, "atomic"},
		{"backreference", `(a)\1`, nil, "backreferences"},
		{"possessive", `a*+b`, nil, "possessive"},
		{"huge repeat", `a{2000}`, nil, "1000"},
		{"unbalanced", `(ok`, nil, "missing closing"},
		{"extended option", `ok`, []string{"extended"}, "extended"},
		{"ucp option", `\w`, []string{"caseless", "ucp"}, "ucp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := check.CompileRegex(tt.pattern, tt.options...)
			if err == nil {
				t.Fatalf("CompileRegex(%q) = %v, want an error", tt.pattern, re)
			}
			if !errors.Is(err, check.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) || !strings.HasPrefix(err.Error(), "check: ") {
				t.Errorf("error %q: want the prefix \"check: \" and %q", err, tt.wantIn)
			}
		})
	}
}
