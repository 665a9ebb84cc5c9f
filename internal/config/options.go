package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Options control how a configuration is read. The zero value reads files
// from the operating system, uses the short host name as config id and an
// empty environment.
type Options struct {
	// ConfigID is matched against '@id' conditional lines and is the value of
	// ${_INSTANCE}. If empty, the host name up to its first '.' is used (as
	// keepalived does without -i).
	ConfigID string

	// Strict turns every warning into an error, except the
	// WarningNoEffect ones.
	Strict bool

	// ReportNoEffect adds a WarningNoEffect warning ("KEYWORD: accepted,
	// has no effect in keepalived-go") for every keyword that keepalived
	// knows and keepalived-go accepts without acting on it (see
	// [Keywords]). A daemon logs them at start and reload, -t prints them.
	ReportNoEffect bool

	// Env holds the variables visible to ${_ENV NAME}. The process
	// environment is never read implicitly.
	Env map[string]string

	// FS, if set, is used to read the main file (for ParseFile) and included
	// files; absolute paths are looked up with their leading '/' removed.
	FS fs.FS

	// ReadFile and Glob read files and expand wildcards when FS is nil. If nil,
	// os.ReadFile and filepath.Glob are used.
	ReadFile func(name string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)

	// Random returns a pseudo random integer in [lo, hi] for ${_RANDOM}. If
	// nil, lo is returned, which keeps parsing deterministic.
	Random func(lo, hi int) int

	// MaxIncludeDepth bounds nested includes. If zero, 32 is used.
	MaxIncludeDepth int

	// MaxExpandedSize bounds the size in bytes of the configuration after
	// includes, definitions and ~SEQ/~LST replication; reading stops with
	// an error beyond it. If zero, 64 MiB is used.
	MaxExpandedSize int
}

func (o *Options) configID() string {
	if o.ConfigID != "" {
		return o.ConfigID
	}
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	id, _, _ := strings.Cut(h, ".")
	return id
}

func (o *Options) readFile(name string) ([]byte, error) {
	if o.FS != nil {
		return fs.ReadFile(o.FS, fsName(name))
	}
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (o *Options) glob(pattern string) ([]string, error) {
	if o.FS != nil {
		m, err := fs.Glob(o.FS, fsName(pattern))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(pattern, "/") {
			for i := range m {
				m[i] = "/" + m[i]
			}
		}
		return m, nil
	}
	if o.Glob != nil {
		return o.Glob(pattern)
	}
	return filepath.Glob(pattern)
}

func fsName(name string) string {
	name = filepath.ToSlash(filepath.Clean(name))
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return "."
	}
	return name
}

// Pos is a position in a configuration file. Line and Col count from 1
// (Col in bytes). Text produced by a $reference has the position of the
// reference; lines of a multi-line definition have the position of the
// line that used it.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col.
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Warning is a problem keepalived would log and then carry on: the offending
// keyword or value is skipped or replaced by its default.
type Warning struct {
	Pos Pos
	Msg string
	// Kind tells a problem of the file (WarningProblem, the zero value)
	// from a keyword accepted without effect in keepalived-go.
	Kind WarningKind
}

// WarningKind is the kind of a [Warning].
type WarningKind int

// Kinds of warnings.
const (
	// WarningProblem: keepalived would log the same problem (a keyword
	// or value skipped or replaced by its default).
	WarningProblem WarningKind = iota
	// WarningNoEffect: a keyword keepalived acts on is accepted and has
	// no effect in keepalived-go.
	WarningNoEffect
)

// String formats the warning as "file:line:col: message".
func (w Warning) String() string { return w.Pos.String() + ": " + w.Msg }

// Error is a configuration error at a position.
type Error struct {
	Pos Pos
	Msg string
	// Problem is the kind of structural problem the error reports, or
	// NoProblem for other errors (include loops, missing block names, and
	// warnings turned into errors by Options.Strict).
	Problem Problem
}

// Error implements error, formatted as "config: file:line:col: message".
func (e *Error) Error() string { return "config: " + e.Pos.String() + ": " + e.Msg }

// Unwrap returns ErrStructure for a structural problem, nil otherwise.
func (e *Error) Unwrap() error {
	if e.Problem != NoProblem {
		return ErrStructure
	}
	return nil
}

// ErrStructure is wrapped by every *Error that reports a structural problem
// of the file (see [Problem]), so errors.Is(err, ErrStructure) on the error
// of Parse tells a damaged file from one that is merely wrong.
var ErrStructure = errors.New("config: structural problem")

// Problem is the kind of a structural problem: the file's shape is damaged
// (for example cut by an editor crash or a partial copy), so what was read
// is not what the author wrote, and applying it would drop or change
// objects silently. Parse always reports these as errors, with or without
// Options.Strict; keepalived logs most of them as warnings and carries on.
type Problem int

// Kinds of structural problems.
const (
	NoProblem         Problem = iota
	UnclosedBlock             // a block has no closing '}' before the end of the input
	UnterminatedQuote         // a quoted string has no closing quote on its line
	UnexpectedBrace           // a '}' with no open block, or a '{' with no keyword before it
	MissingBlock              // a keyword that takes a block has none (the block was cut or lost)
	DroppedObject             // an object was dropped: a block without its name, a vrrp_instance without virtual_router_id or defined twice, a virtual or real server with an unreadable address
	numProblems
)

var problemNames = [numProblems]string{"none", "unclosed block", "unterminated quote", "unexpected brace", "missing block", "dropped object"}

// String returns a short description of the kind.
func (k Problem) String() string {
	if k < 0 || k >= numProblems {
		return fmt.Sprintf("Problem(%d)", int(k))
	}
	return problemNames[k]
}

// ErrorList is the error returned by Parse when there are one or more
// errors; each element is an *Error.
type ErrorList []*Error

// Error joins the messages, one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Problems returns the structural problems of the list (the errors whose
// Problem is set), in order; nil if there are none.
func (l ErrorList) Problems() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Problem != NoProblem {
			out = append(out, e)
		}
	}
	return out
}

// Problems returns the structural problems reported in err, an error
// returned by [Parse] or [ParseFile]; nil if there are none. A caller that
// reloads a running configuration refuses the file when this is not empty.
func Problems(err error) ErrorList {
	var l ErrorList
	if errors.As(err, &l) {
		return l.Problems()
	}
	return nil
}

// Unwrap returns the individual errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
