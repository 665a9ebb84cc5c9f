package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// token is one word of a preprocessed line.
type token struct {
	text   string
	pos    Pos
	quoted bool
	brace  byte // '{' or '}' for an unquoted brace, else 0
}

// include checks (keepalived include_check).
const (
	incReadable = 1 << iota
	incMatch
	incWildcard
	incBrace
	incAll = incReadable | incMatch | incWildcard | incBrace
)

type definition struct {
	lines []string // one element unless multi-line
	multi bool
}

// pre is the preprocessor: it turns files into token lines, applying
// includes, conditionals, definitions and sequences.
type pre struct {
	opts     *Options
	id       string
	defs     map[string]*definition
	out      [][]token
	warns    []Warning
	errs     ErrorList
	stack    []string // files being read, for loop detection
	incCheck int
	maxDepth int
	// pending multi-line definition
	pendName string
	pendDef  *definition
	pendPos  Pos
	budget   int            // bounds the total work of expansions
	order    map[string]int // order in which files were first read
}

func newPre(opts *Options) *pre {
	p := &pre{opts: opts, id: opts.configID(), defs: map[string]*definition{}, order: map[string]int{}, maxDepth: opts.MaxIncludeDepth, budget: opts.MaxExpandedSize}
	if p.budget <= 0 {
		p.budget = 64 << 20
	}
	if p.maxDepth <= 0 {
		p.maxDepth = 32
	}
	return p
}

func (p *pre) warnf(pos Pos, format string, args ...any) {
	p.warns = append(p.warns, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *pre) errorf(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// problemf records a structural problem of kind k: always an error.
func (p *pre) problemf(k Problem, pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Problem: k})
}

// file preprocesses the contents of one file.
func (p *pre) file(name string, src []byte) {
	if len(p.stack) >= p.maxDepth {
		p.errorf(Pos{File: name, Line: 1, Col: 1}, "include depth exceeds %d", p.maxDepth)
		return
	}
	if _, ok := p.order[name]; !ok {
		p.order[name] = len(p.order)
	}
	p.stack = append(p.stack, name)
	savedCheck := p.incCheck
	defer func() {
		p.stack = p.stack[:len(p.stack)-1]
		p.incCheck = savedCheck
	}()
	text := string(src)
	lineNo := 0
	for len(text) > 0 {
		var raw string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			raw, text = text[:i], text[i+1:]
		} else {
			raw, text = text, ""
		}
		lineNo++
		raw = strings.TrimSuffix(raw, "\r")
		pos := Pos{File: name, Line: lineNo, Col: 1}
		if p.pendDef != nil {
			p.continueDef(raw, pos)
			continue
		}
		p.rawLine(raw, pos)
	}
	if p.pendDef != nil {
		p.finishDef()
	}
}

// continueDef adds a line to the multi-line definition being read.
func (p *pre) continueDef(raw string, pos Pos) {
	body := stripComment(raw)
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		// keepalived ends a multi-line definition at an empty line
		p.finishDef()
		return
	}
	cont := strings.HasSuffix(trimmed, `\`)
	if cont {
		trimmed = strings.TrimSpace(strings.TrimSuffix(trimmed, `\`))
	}
	if trimmed != "" {
		p.pendDef.lines = append(p.pendDef.lines, trimmed)
	}
	if !cont {
		p.finishDef()
	}
}

func (p *pre) finishDef() {
	p.defs[p.pendName] = p.pendDef
	p.pendName, p.pendDef = "", nil
}

// rawLine handles one physical line of a file.
func (p *pre) rawLine(raw string, pos Pos) {
	body := stripComment(raw)
	// A line ending in '\' outside a definition: keepalived keeps the
	// backslash as a word of its own.
	if t := strings.TrimRight(raw, " \t"); strings.HasSuffix(t, `\`) && !strings.HasSuffix(strings.TrimRight(body, " \t"), `\`) {
		body = strings.TrimRight(body, " \t") + ` \`
	}
	lead := len(body) - len(strings.TrimLeft(body, " \t"))
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		return
	}
	if trimmed == `\` {
		lead = strings.LastIndexByte(raw, '\\')
	}
	pos.Col += lead
	word, rest, _ := strings.Cut(trimmed, " ")
	word, rest2, _ := strings.Cut(word, "\t")
	if rest2 != "" {
		rest = rest2 + " " + rest
	}
	switch word {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		p.include(word, strings.TrimSpace(rest), pos)
		return
	case "include_check":
		p.includeCheck(strings.Fields(rest), pos)
	}
	p.process(ltext{s: trimmed, base: pos.Col}, pos, 0)
}

// ltext is a line of text with the source column of each byte: cols is
// nil while the columns are consecutive from base, and is filled in once
// parameter substitution has moved text around (substituted text takes
// the column of its $reference).
type ltext struct {
	s    string
	cols []int
	base int
}

func (t ltext) col(i int) int {
	switch {
	case t.cols == nil:
		return t.base + i
	case i < len(t.cols):
		return t.cols[i]
	case len(t.cols) > 0:
		return t.cols[len(t.cols)-1]
	}
	return t.base
}

func (t ltext) slice(a, b int) ltext {
	if t.cols == nil {
		return ltext{s: t.s[a:b], base: t.base + a}
	}
	return ltext{s: t.s[a:b], cols: t.cols[a:b], base: t.col(a)}
}

const spaces = " \t\r\n\v\f"

func (t ltext) trim() ltext {
	a := len(t.s) - len(strings.TrimLeft(t.s, spaces))
	b := len(strings.TrimRight(t.s, spaces))
	if b < a {
		b = a
	}
	return t.slice(a, b)
}

func (p *pre) includeCheck(args []string, pos Pos) {
	if len(args) == 0 {
		p.incCheck = incAll
		return
	}
	add := true
	for _, a := range args {
		for len(a) > 0 && (a[0] == '+' || a[0] == '-') {
			add = a[0] == '+'
			a = a[1:]
		}
		var bit int
		switch a {
		case "":
			continue
		case "readable":
			bit = incReadable
		case "match":
			bit = incMatch | incReadable
		case "wildcard_match":
			bit = incWildcard | incReadable
		case "brace_match":
			bit = incBrace | incReadable
		default:
			p.warnf(pos, "unknown include_check option %q, expected readable, match, wildcard_match or brace_match", a)
			continue
		}
		if add {
			p.incCheck |= bit
		} else {
			p.incCheck &^= bit
		}
	}
}

func (p *pre) include(kw, arg string, pos Pos) {
	check := p.incCheck
	switch kw {
	case "includer":
		check |= incReadable
	case "includem":
		check |= incMatch | incReadable
	case "includew":
		check |= incWildcard | incReadable
	case "includeb":
		check |= incBrace | incReadable
	case "includea":
		check |= incAll
	}
	pattern := arg
	if len(pattern) >= 2 && (pattern[0] == '"' || pattern[0] == '\'') && pattern[len(pattern)-1] == pattern[0] {
		pattern = pattern[1 : len(pattern)-1]
	}
	if pattern == "" {
		p.errorf(pos, "%s: expected a file name", kw)
		return
	}
	dir := "."
	if len(p.stack) > 0 {
		dir = filepath.Dir(p.stack[len(p.stack)-1])
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	fail := func(format string, args ...any) {
		if check != 0 {
			p.errorf(pos, format, args...)
		} else {
			p.warnf(pos, format, args...)
		}
	}
	var files []string
	seen := map[string]bool{}
	alts, ok := expandBraces(pattern)
	if !ok {
		p.errorf(pos, "%s %q: brace expansion gives more than %d names", kw, arg, maxBraceNames)
		return
	}
	for _, alt := range alts {
		m, err := p.opts.glob(alt)
		if err != nil {
			fail("%s %q: %v", kw, alt, err)
			continue
		}
		wild := strings.ContainsAny(alt, "*?[")
		if len(m) == 0 {
			switch {
			case wild && check&incWildcard != 0:
				fail("%s %q: no file matches the wildcard", kw, alt)
			case !wild && check&(incMatch|incBrace) != 0:
				fail("%s %q: no such file", kw, alt)
			default:
				// keepalived: "Config files missing"
				p.warnf(pos, "%s %q: config files missing", kw, alt)
			}
			continue
		}
		for _, f := range m {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	for _, f := range files {
		for _, s := range p.stack {
			if s == f {
				p.errorf(pos, "%s %q: include loop", kw, f)
				return
			}
		}
		src, err := p.opts.readFile(f)
		if err != nil {
			if check&incReadable != 0 {
				p.errorf(pos, "%s %q: %v", kw, f, err)
			} else {
				p.warnf(pos, "%s %q: %v", kw, f, err)
			}
			continue
		}
		p.file(f, src)
	}
}

// maxBraceNames bounds the names one include pattern expands to: the
// count grows exponentially with the brace groups ({a,b} twenty times
// gives a million).
const maxBraceNames = 4096

// expandBraces performs csh style brace expansion: "a{b,c{d,e}}f" gives
// abf, acdf, acef. It reports false, and no names, beyond maxBraceNames.
func expandBraces(s string) ([]string, bool) {
	start := strings.IndexByte(s, '{')
	if start < 0 {
		return []string{s}, true
	}
	depth := 0
	var parts []string
	last := start + 1
	end := -1
	for i := start; i < len(s) && end < 0; i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				parts = append(parts, s[last:i])
				end = i
			}
		case ',':
			if depth == 1 {
				parts = append(parts, s[last:i])
				last = i + 1
			}
		}
	}
	if end < 0 {
		return []string{s}, true
	}
	tails, ok := expandBraces(s[end+1:])
	if !ok {
		return nil, false
	}
	var out []string
	for _, tail := range tails {
		for _, part := range parts {
			mids, ok := expandBraces(part)
			if !ok || len(out)+len(mids) > maxBraceNames {
				return nil, false
			}
			for _, mid := range mids {
				out = append(out, s[:start]+mid+tail)
			}
		}
	}
	return out, true
}

// stripComment removes a '#' or '!' comment that is not inside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '#' || c == '!':
			return s[:i]
		}
	}
	return s
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// process handles a comment-free logical line.
func (p *pre) process(t ltext, pos Pos, depth int) {
	t = t.trim()
	line := t.s
	pos.Col = t.col(0)
	if depth > 64 {
		p.errorf(pos, "definitions nested too deeply (recursive definition?)")
		return
	}
	p.budget -= len(line) + 1
	if p.budget < 0 {
		if p.budget+len(line)+1 >= 0 {
			p.errorf(pos, "configuration expands to too much text")
		}
		return
	}
	if line == "" {
		return
	}
	// conditional configuration
	if line[0] == '@' {
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		word := line[1:end]
		neg := strings.HasPrefix(word, "^")
		if neg {
			word = word[1:]
		}
		if (word == p.id) == neg {
			return
		}
		p.process(t.slice(end, len(line)), pos, depth+1)
		return
	}
	// definition
	if line[0] == '$' && len(line) > 1 && isNameStart(line[1]) {
		i := 2
		for i < len(line) && isNameChar(line[i]) {
			i++
		}
		if i < len(line) && line[i] == '=' {
			name, value := line[1:i], strings.TrimSpace(line[i+1:])
			if value == `\` {
				p.pendName, p.pendDef, p.pendPos = name, &definition{multi: true}, pos
				return
			}
			p.defs[name] = &definition{lines: []string{value}}
			return
		}
	}
	// replication
	if line[0] == '~' {
		if strings.HasPrefix(line, "~SEQ(") || strings.HasPrefix(line, "~SEQx(") || strings.HasPrefix(line, "~LST(") {
			p.replicate(t, pos, depth)
			return
		}
	}
	if strings.IndexByte(line, '$') >= 0 {
		expanded, changed, multi := p.substitute(t, pos)
		if changed {
			if multi {
				start := 0
				for i := 0; i <= len(expanded.s); i++ {
					if i == len(expanded.s) || expanded.s[i] == '\n' {
						p.process(expanded.slice(start, i), pos, depth+1)
						start = i + 1
					}
				}
				return
			}
			p.process(expanded, pos, depth+1)
			return
		}
	}
	toks := tokenize(t, pos, p)
	if len(toks) > 0 {
		p.out = append(p.out, toks)
	}
}

// replicate expands a ~SEQ, ~SEQx or ~LST line.
func (p *pre) replicate(t ltext, pos Pos, depth int) {
	line := t.s
	open := strings.IndexByte(line, '(')
	kind := line[1:open]
	closeAt := -1
	nest := 0
	for i := open; i < len(line); i++ {
		if line[i] == '(' {
			nest++
		} else if line[i] == ')' {
			nest--
			if nest == 0 {
				closeAt = i
				break
			}
		}
	}
	if closeAt < 0 {
		p.warnf(pos, "~%s: missing ')'", kind)
		return
	}
	spec := line[open+1 : closeAt]
	if strings.IndexByte(spec, '$') >= 0 {
		e, _, _ := p.substitute(ltext{s: spec}, pos)
		spec = e.s
	}
	rest := t.slice(closeAt+1, len(line))
	restPos := pos
	set := func(name, v string) { p.defs[name] = &definition{lines: []string{v}} }
	if kind == "LST" {
		vars, values, ok := parseList(spec)
		if !ok {
			p.warnf(pos, "~LST: expected (var, value, ...) or ({var, ...}, {value, ...}, ...)")
			return
		}
		for _, vs := range values {
			if len(vs) != len(vars) {
				p.warnf(pos, "~LST: %d values for %d variables", len(vs), len(vars))
				return
			}
			for i, v := range vars {
				set(v, vs[i])
			}
			p.process(rest, restPos, depth+1)
			if p.budget < 0 {
				return
			}
		}
		return
	}
	f := strings.Split(spec, ",")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	if len(f) < 2 || len(f) > 4 || !validName(f[0]) {
		p.warnf(pos, "~%s: expected (var, [start, [step,]] end)", kind)
		return
	}
	nums := make([]int64, len(f)-1)
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			p.warnf(pos, "~%s: invalid number %q", kind, s)
			return
		}
		nums[i] = n
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start = 1
		if end < 0 {
			start = -1
		}
	case 2:
		start, end = nums[0], nums[1]
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
	}
	if step == 0 {
		step = 1
		if end < start {
			step = -1
		}
	}
	if (step > 0 && start > end) || (step < 0 && start < end) {
		return
	}
	for n, count := start, 0; (step > 0 && n <= end) || (step < 0 && n >= end); n += step {
		count++
		if count > 1_000_000 {
			p.warnf(pos, "~%s: too many iterations", kind)
			return
		}
		v := strconv.FormatInt(n, 10)
		if kind == "SEQx" {
			v = strconv.FormatInt(n, 16)
		}
		set(f[0], v)
		p.process(rest, restPos, depth+1)
		if p.budget < 0 {
			return
		}
	}
}

func validName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// parseList parses "var, v1, v2" or "{a, b}, {1, 2}, {3, 4}".
func parseList(spec string) (vars []string, values [][]string, ok bool) {
	items, ok := splitTop(spec)
	if !ok || len(items) < 2 {
		return nil, nil, false
	}
	group := func(s string) ([]string, bool) {
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "{") {
			if !strings.HasSuffix(s, "}") {
				return nil, false
			}
			parts := strings.Split(s[1:len(s)-1], ",")
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			return parts, true
		}
		return []string{s}, true
	}
	vars, ok = group(items[0])
	if !ok {
		return nil, nil, false
	}
	for _, v := range vars {
		if !validName(v) {
			return nil, nil, false
		}
	}
	for _, it := range items[1:] {
		g, ok := group(it)
		if !ok {
			return nil, nil, false
		}
		values = append(values, g)
	}
	return vars, values, true
}

// splitTop splits on commas that are not inside braces.
func splitTop(s string) ([]string, bool) {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth < 0 {
				return nil, false
			}
		case ',':
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, false
	}
	return append(out, s[last:]), true
}

// substitute replaces $NAME and ${NAME} references recursively. multi
// reports that a multi-line definition was inserted (lines joined by '\n').
func (p *pre) substitute(s ltext, pos Pos) (out ltext, changed, multi bool) {
	for range 100 {
		next, ch, m := p.substituteOnce(s, pos)
		if m {
			// Each line of a multi-line definition is substituted when it
			// is processed, so definitions inside it bind late.
			return next, true, true
		}
		if !ch {
			return s, changed, multi
		}
		changed = true
		s = next
		if len(s.s) > 1<<20 {
			p.errorf(pos, "parameter substitution produces a line longer than 1 MiB")
			return ltext{}, true, false
		}
	}
	p.errorf(pos, "parameter substitution does not terminate (recursive definition?)")
	return ltext{}, true, false
}

func (p *pre) substituteOnce(t ltext, pos Pos) (ltext, bool, bool) {
	s := t.s
	var b strings.Builder
	cols := make([]int, 0, len(s))
	changed, multi := false, false
	i := 0
	put := func(v string, col int) {
		b.WriteString(v)
		for range len(v) {
			cols = append(cols, col)
		}
	}
	for i < len(s) {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			cols = append(cols, t.col(i))
			i++
			continue
		}
		if s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end >= 0 {
				inner := s[i+2 : i+2+end]
				if v, ok := p.lookup(inner, pos); ok {
					if strings.IndexByte(v, '\n') >= 0 {
						multi = true
					}
					put(v, t.col(i))
					i += end + 3
					changed = true
					continue
				}
			}
			b.WriteByte(c)
			cols = append(cols, t.col(i))
			i++
			continue
		}
		if isNameStart(s[i+1]) {
			j := i + 2
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			if j == len(s) || s[j] == ' ' || s[j] == '\t' {
				if v, ok := p.lookup(s[i+1:j], pos); ok {
					if strings.IndexByte(v, '\n') >= 0 {
						multi = true
					}
					put(v, t.col(i))
					i = j
					changed = true
					continue
				}
			}
		}
		b.WriteByte(c)
		cols = append(cols, t.col(i))
		i++
	}
	if !changed {
		return t, false, false
	}
	return ltext{s: b.String(), cols: cols}, changed, multi
}

// lookup resolves a parameter reference (the text between "${" and "}").
func (p *pre) lookup(ref string, pos Pos) (string, bool) {
	name, arg, _ := strings.Cut(strings.TrimSpace(ref), " ")
	arg = strings.TrimSpace(arg)
	if d, ok := p.defs[name]; ok && arg == "" {
		return strings.Join(d.lines, "\n"), true
	}
	switch name {
	case "_PWD":
		if len(p.stack) == 0 {
			return ".", true
		}
		return filepath.Dir(p.stack[len(p.stack)-1]), true
	case "_INSTANCE":
		return p.id, true
	case "_HASH":
		return "#", true
	case "_BANG":
		return "!", true
	case "_ENV":
		if arg == "" {
			p.warnf(pos, "${_ENV}: expected a variable name")
			return "", true
		}
		return p.opts.Env[arg], true
	case "_RANDOM":
		lo, hi := 0, 32767
		f := strings.Fields(arg)
		var err error
		if len(f) > 0 {
			lo, err = strconv.Atoi(f[0])
		}
		if err == nil && len(f) > 1 {
			hi, err = strconv.Atoi(f[1])
		}
		if err != nil || lo < 0 || hi < lo || len(f) > 2 {
			p.warnf(pos, "${_RANDOM %s}: expected non-negative MIN [MAX] with MIN <= MAX", arg)
			return "0", true
		}
		if p.opts.Random != nil {
			return strconv.Itoa(p.opts.Random(lo, hi)), true
		}
		return strconv.Itoa(lo), true
	}
	return "", false
}

// tokenize splits a line into words. Quotes (" or ') group words and may
// contain escapes; unquoted braces are tokens of their own.
func tokenize(t ltext, pos Pos, p *pre) []token {
	line := t.s
	var toks []token
	i := 0
	for i < len(line) {
		c := line[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' {
			i++
			continue
		}
		start := i
		tp := pos
		tp.Col = t.col(i)
		if c == '{' || c == '}' {
			toks = append(toks, token{text: string(c), pos: tp, brace: c})
			i++
			continue
		}
		// fast path: a plain word is a substring of the line
		j := i
		for j < len(line) {
			c := line[j]
			if c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '"' || c == '\'' || c == '{' || c == '}' {
				break
			}
			j++
		}
		if j == len(line) || line[j] == ' ' || line[j] == '\t' || line[j] == '\r' || line[j] == '\v' || line[j] == '\f' || line[j] == '}' {
			if toks == nil {
				toks = make([]token, 0, 4)
			}
			toks = append(toks, token{text: line[start:j], pos: tp})
			i = j
			continue
		}
		var b strings.Builder
		quoted := false
		open := 0 // unquoted '{' inside the word
	word:
		for i < len(line) {
			c := line[i]
			switch c {
			case ' ', '\t', '\r', '\v', '\f':
				break word
			case '"', '\'':
				quoted = true
				q := c
				i++
				closed := false
				for i < len(line) {
					c := line[i]
					if c == q {
						closed = true
						i++
						break
					}
					if c == '\\' && i+1 < len(line) {
						n := unescape(line[i+1:], &b)
						i += 1 + n
						continue
					}
					b.WriteByte(c)
					i++
				}
				if !closed && p != nil {
					p.problemf(UnterminatedQuote, tp, "unterminated quoted string, expected closing %c", q)
				}
			case '{':
				open++
				b.WriteByte(c)
				i++
			case '}':
				if open == 0 {
					break word
				}
				open--
				b.WriteByte(c)
				i++
			default:
				b.WriteByte(c)
				i++
			}
		}
		if i > start {
			toks = append(toks, token{text: b.String(), pos: tp, quoted: quoted})
		}
	}
	return toks
}

// unescape decodes the escape sequence at the start of s (after the
// backslash), writes the result and returns the number of bytes consumed.
func unescape(s string, b *strings.Builder) int {
	c := s[0]
	switch c {
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'E', 'e':
		b.WriteByte(0x1b)
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'v':
		b.WriteByte('\v')
	case 'c':
		if len(s) > 1 {
			b.WriteByte(s[1] & 0x1f)
			return 2
		}
		b.WriteByte('c')
	case 'x':
		n := 0
		v := 0
		for n+1 < len(s) && n < 2 && isHex(s[n+1]) {
			v = v*16 + hexVal(s[n+1])
			n++
		}
		if n == 0 {
			b.WriteByte('x')
			return 1
		}
		b.WriteByte(byte(v))
		return 1 + n
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n, v := 0, 0
		for n < len(s) && n < 3 && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		b.WriteByte(byte(v))
		return n
	default:
		b.WriteByte(c)
	}
	return 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}
