package check

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// CompileRegex compiles a keepalived url regex (written for PCRE2) for
// [HTTP].Regex, with keepalived's regex_options names as options. A pattern
// Go's RE2 engine cannot compile — lookaround, backreferences, atomic groups,
// possessive quantifiers, or a repetition over 1000 — is an error wrapping
// [ErrInvalidConfig], as is an option it cannot honour: the caller rejects
// the configuration instead of running a check that cannot fail.
//
// Options honoured: caseless (i), multiline (m), dotall (s), ungreedy (U)
// and anchored (the match must start at the beginning of the body). Options
// that tune PCRE2's optimizer or capture without changing whether a body
// matches are accepted and ignored: utf, no_auto_capture, no_auto_possess,
// no_dotstar_anchor, no_start_optimize, dollar_endonly (Go's $ without
// multiline already matches only at the very end). Any other option is an
// error.
//
// One difference remains: without multiline or dollar_endonly, PCRE2's $
// also matches before a final newline, while Go's matches only at the end;
// write \n?$ where it matters.
func CompileRegex(pattern string, options ...string) (*regexp.Regexp, error) {
	var flags, unsupported []string
	anchored := false
	for _, o := range options {
		switch o {
		case "caseless":
			flags = append(flags, "i")
		case "multiline":
			flags = append(flags, "m")
		case "dotall":
			flags = append(flags, "s")
		case "ungreedy":
			flags = append(flags, "U")
		case "anchored":
			anchored = true
		case "utf", "no_auto_capture", "no_auto_possess", "no_dotstar_anchor", "no_start_optimize", "dollar_endonly":
		default:
			unsupported = append(unsupported, o)
		}
	}
	if len(unsupported) > 0 {
		return nil, fmt.Errorf("check: regex_options %s not supported by Go's regexp: %w",
			strings.Join(unsupported, " "), ErrInvalidConfig)
	}
	if _, err := syntax.Parse(pattern, syntax.Perl); err != nil {
		return nil, regexError(pattern, err)
	}
	full := pattern
	if anchored {
		full = `\A(?:` + full + `)`
	}
	if len(flags) > 0 {
		full = "(?" + strings.Join(flags, "") + ")" + full
	}
	re, err := regexp.Compile(full)
	if err != nil {
		return nil, regexError(pattern, err)
	}
	return re, nil
}

// regexError explains err, from compiling pattern, as a configuration error.
func regexError(pattern string, err error) error {
	hint := ""
	var se *syntax.Error
	if errors.As(err, &se) {
		switch se.Code {
		case syntax.ErrInvalidPerlOp, syntax.ErrInvalidNamedCapture:
			hint = " (Go's RE2 has no lookahead, lookbehind, atomic groups or inline callouts)"
		case syntax.ErrInvalidEscape:
			hint = " (Go's RE2 has no backreferences)"
		case syntax.ErrInvalidRepeatOp:
			hint = " (Go's RE2 has no possessive quantifiers)"
		case syntax.ErrInvalidRepeatSize:
			hint = " (Go's RE2 allows at most 1000 repetitions)"
		}
	}
	return fmt.Errorf("check: regex %q cannot be compiled: %v%s: %w", pattern, err, hint, ErrInvalidConfig)
}
