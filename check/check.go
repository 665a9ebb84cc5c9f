package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

// A Checker runs one health check. Check returns nil when the target is
// healthy and an error saying why it is not otherwise. The check's timeout is
// the deadline of ctx; a Checker never outlives ctx.
//
// Errors returned by the checkers of this package are *Error values whose
// Reason classifies the failure and whose Err holds the detail (for example a
// *StatusError or a *DigestError), so callers can use errors.Is and
// errors.As on them.
type Checker interface {
	Check(ctx context.Context) error
}

// CheckerFunc adapts an ordinary function to the Checker interface, as
// http.HandlerFunc does for handlers.
type CheckerFunc func(ctx context.Context) error

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) error { return f(ctx) }

// A WeightChecker is a Checker whose success may carry a dynamic weight, as
// keepalived's MISC_CHECK with misc_dynamic and FILE_CHECK do. When dynamic is
// true the caller should use weight instead of its configured weight.
type WeightChecker interface {
	Checker
	CheckWeight(ctx context.Context) (weight int, dynamic bool, err error)
}

// A Keyer is a Checker that can name its parameters with a comparable value.
// Two checkers with equal keys check the same thing in the same way, so a
// Monitor runs them once and fans the result out to every consumer. The
// checkers of this package all implement Keyer.
type Keyer interface {
	CheckKey() any
}

// ErrNotSupported is wrapped by the errors of checkers or options that are
// not available on this operating system (scripts and interface binding
// outside Linux) or not at all (an encrypted SSL key). It matches
// [errors.ErrUnsupported].
var ErrNotSupported error = notSupported{}

type notSupported struct{}

func (notSupported) Error() string { return "not supported on this platform" }
func (notSupported) Unwrap() error { return errors.ErrUnsupported }

// ErrClosed is wrapped by the errors of a [Monitor] that has stopped. It is
// [net.ErrClosed], as in the other packages of the suite.
var ErrClosed = net.ErrClosed

// Sentinel errors wrapped by *Error values; test them with errors.Is.
var (
	// ErrTooLarge means a reply exceeded the checker's size bound.
	ErrTooLarge = errors.New("reply too large")
	// ErrMalformed means a reply could not be parsed.
	ErrMalformed = errors.New("malformed reply")
	// ErrNoMatch means a body did not match the expected regular expression
	// (or matched one it should not have).
	ErrNoMatch = errors.New("body does not match regex")
	// ErrNoReply means no reply arrived although one was required.
	ErrNoReply = errors.New("no reply")
	// ErrPortUnreachable means an ICMP port unreachable was received.
	ErrPortUnreachable = errors.New("port unreachable")
	// ErrInsecure means script security refused to run a script.
	ErrInsecure = errors.New("insecure script")
	// ErrInvalidConfig means a checker's configuration is invalid.
	ErrInvalidConfig = errors.New("invalid configuration")
)

// Reason classifies why a check failed.
type Reason uint8

// Reasons a check can fail for.
const (
	ReasonUnknown     Reason = iota // unclassified
	ReasonTimeout                   // the context deadline passed
	ReasonCanceled                  // the context was canceled
	ReasonConfig                    // the checker's configuration is invalid
	ReasonConnect                   // connection refused, unreachable, bind failure
	ReasonTLS                       // TLS handshake or verification failed
	ReasonProtocol                  // the peer spoke the protocol wrongly or hung up
	ReasonTooLarge                  // a reply exceeded its size bound
	ReasonStatus                    // unexpected HTTP status or SMTP/DNS reply code
	ReasonDigest                    // HTTP body digest mismatch
	ReasonRegex                     // HTTP body regular expression mismatch
	ReasonAnswer                    // DNS answer missing or unexpected
	ReasonNoReply                   // UDP/ICMP: no reply although one was required
	ReasonUnreachable               // ICMP destination/port unreachable
	ReasonExit                      // script exited with a failure code or signal
	ReasonInsecure                  // script security refused the script
	ReasonFile                      // FILE_CHECK reported down
	ReasonLength                    // UDP reply shorter or longer than its bounds
	ReasonExternal                  // an External source reported down
)

var reasonNames = [...]string{
	ReasonUnknown:     "unknown",
	ReasonTimeout:     "timeout",
	ReasonCanceled:    "canceled",
	ReasonConfig:      "config",
	ReasonConnect:     "connect",
	ReasonTLS:         "tls",
	ReasonProtocol:    "protocol",
	ReasonTooLarge:    "too large",
	ReasonStatus:      "status",
	ReasonDigest:      "digest",
	ReasonRegex:       "regex",
	ReasonAnswer:      "answer",
	ReasonNoReply:     "no reply",
	ReasonUnreachable: "unreachable",
	ReasonExit:        "exit",
	ReasonInsecure:    "insecure",
	ReasonFile:        "file",
	ReasonLength:      "reply length",
	ReasonExternal:    "external",
}

// String returns the reason's name.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", r)
}

// joinErrors is errors.Join on one line ("a; b"), so that a checker's
// configuration error reads as one message after its prefix.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return multiError(errs)
}

type multiError []error

func (e multiError) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e multiError) Unwrap() []error { return e }

// configError prefixes a checker's configuration error, if any.
func configError(kind string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("check: %s: %w", kind, err)
}

// Error is the error returned by the checkers of this package.
type Error struct {
	Check  string // checker kind: "tcp", "http", "https", "tls", "smtp", "dns", "udp", "icmp", "script", "file"
	Target string // what was checked: an address, a path
	Reason Reason
	Err    error // the detail; never nil
}

// Error implements error.
func (e *Error) Error() string {
	return "check: " + e.Check + " " + e.Target + ": " + e.Reason.String() + ": " + e.Err.Error()
}

// Unwrap returns the detail.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first *Error in err's chain, or
// ReasonUnknown. It returns ReasonTimeout for bare deadline errors.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return ReasonTimeout
	}
	if errors.Is(err, context.Canceled) {
		return ReasonCanceled
	}
	return ReasonUnknown
}

// StatusError reports an unexpected reply code (HTTP status, SMTP reply code
// or DNS rcode).
type StatusError struct {
	Code int
	Want string // what was expected, e.g. "200-299"
	Text string // reply text, truncated
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("unexpected code %d (want %s)", e.Code, e.Want)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// LengthError reports a reply whose length is outside the bounds set
// (UDP's min_reply_length and max_reply_length). It matches [ErrTooLarge]
// when the reply is too long.
type LengthError struct {
	Len      int // bytes received
	Min, Max int // the bounds; Max 0 means none
}

func (e *LengthError) Error() string {
	if e.Len < e.Min {
		return fmt.Sprintf("reply of %d bytes, want at least %d", e.Len, e.Min)
	}
	return fmt.Sprintf("reply of %d bytes, want at most %d", e.Len, e.Max)
}

// Is reports whether target is ErrTooLarge and the reply was too long.
func (e *LengthError) Is(target error) bool {
	return target == ErrTooLarge && e.Len > e.Max && e.Max > 0
}

// DigestError reports an HTTP body whose MD5 digest differs from the expected
// one.
type DigestError struct {
	Got, Want string // lowercase hex
}

func (e *DigestError) Error() string {
	return "body digest " + e.Got + ", want " + e.Want
}

// AnswerError reports a DNS reply lacking an expected answer.
type AnswerError struct {
	Missing []string // expected answers not found
	Got     []string // answers received
}

func (e *AnswerError) Error() string {
	if len(e.Missing) == 0 {
		return "no answer"
	}
	return fmt.Sprintf("missing answer %q (got %q)", e.Missing, e.Got)
}

// ExitError reports a script that failed: exit code 1 (or any non-zero code
// when weights are not dynamic), or death by a signal.
type ExitError struct {
	Code   int    // exit code, -1 when killed by a signal
	Signal string // the signal's name when Code is -1
	Stderr string // the start of the script's standard error, if captured
}

func (e *ExitError) Error() string {
	s := fmt.Sprintf("exit status %d", e.Code)
	if e.Code < 0 {
		s = "killed by signal " + e.Signal
	}
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

// InsecureError reports why script security refused a script. It wraps
// ErrInsecure.
type InsecureError struct {
	Path   string // the offending file or directory
	Reason string // e.g. "writable by group 1000"
}

func (e *InsecureError) Error() string { return "insecure " + e.Path + ": " + e.Reason }

// Unwrap returns ErrInsecure.
func (e *InsecureError) Unwrap() error { return ErrInsecure }

// fail builds an *Error. When ctx is done, the reason becomes a timeout or
// cancellation and the context's error is joined, so errors.Is(err,
// context.DeadlineExceeded) holds.
func fail(ctx context.Context, kind, target string, r Reason, err error) error {
	if ctx != nil && r != ReasonInsecure && r != ReasonConfig {
		cerr := ctx.Err()
		if _, ok := ctx.Deadline(); ok && cerr == nil && isTimeout(err) {
			// A socket deadline copied from ctx fired a moment before
			// the context's own timer: the same timeout.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil {
			if errors.Is(cerr, context.DeadlineExceeded) {
				r = ReasonTimeout
			} else {
				r = ReasonCanceled
			}
			if !errors.Is(err, cerr) {
				err = fmt.Errorf("%w (%w)", err, cerr)
			}
		}
	}
	if r == ReasonUnknown || r == ReasonProtocol || r == ReasonConnect {
		r = classify(err, r)
	}
	return &Error{Check: kind, Target: target, Reason: r, Err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classify refines a reason from a network error.
func classify(err error, def Reason) Reason {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		if def == ReasonUnknown {
			return ReasonConnect
		}
		return def
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge
	}
	var ae tls.AlertError
	var ve *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var oe *net.OpError
	if errors.As(err, &ae) || errors.As(err, &ve) || errors.As(err, &rh) ||
		(errors.As(err, &oe) && oe.Op == "remote error") { // a TLS alert from the peer
		return ReasonTLS
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	if def == ReasonUnknown {
		return ReasonProtocol
	}
	return def
}
