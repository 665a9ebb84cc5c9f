package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrRead is wrapped by ParseFile when the main file cannot be read; the
// underlying error (for example fs.ErrNotExist) is wrapped too.
var ErrRead = errors.New("config: cannot read configuration file")

// Parse reads a configuration from src; name is used in positions and as
// the base for relative includes. It returns the typed configuration, the
// warnings keepalived would log, and an ErrorList if there were errors
// (with Options.Strict, every warning is an error). The Config is returned
// even when there are errors, so that a caller may inspect it.
func Parse(name string, src []byte, opts Options) (*Config, []Warning, error) {
	p := newPre(&opts)
	p.out = make([][]token, 0, bytes.Count(src, []byte{'\n'})+1)
	p.file(name, src)
	nodes := buildTree(p.out, p)
	d := newDecoder(p)
	d.decode(nodes)
	before := func(a, b Pos) int {
		if c := cmp.Compare(p.order[a.File], p.order[b.File]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	}
	slices.SortStableFunc(p.warns, func(a, b Warning) int { return before(a.Pos, b.Pos) })
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return before(a.Pos, b.Pos) })
	warns := p.warns
	errs := p.errs
	if opts.Strict && len(warns) > 0 {
		var kept []Warning
		for _, w := range warns {
			if w.Kind == WarningNoEffect {
				kept = append(kept, w)
				continue
			}
			errs = append(errs, &Error{Pos: w.Pos, Msg: w.Msg})
		}
		warns = kept
	}
	if len(errs) > 0 {
		return d.cfg, warns, errs
	}
	return d.cfg, warns, nil
}

// ParseFile reads the configuration file at path (through Options.FS or
// Options.ReadFile when set) and parses it.
func ParseFile(path string, opts Options) (*Config, []Warning, error) {
	src, err := opts.readFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w %s: %w", ErrRead, path, err)
	}
	return Parse(path, src, opts)
}
