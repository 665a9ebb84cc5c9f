package check

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// The suite's conventions: ErrClosed is net.ErrClosed, ErrNotSupported
// matches errors.ErrUnsupported, and every error a caller sees starts with
// "check: " exactly once (each line of a joined error).
func TestErrorConventions(t *testing.T) {
	if ErrClosed != net.ErrClosed {
		t.Error("ErrClosed is not net.ErrClosed")
	}
	if !errors.Is(ErrNotSupported, errors.ErrUnsupported) {
		t.Error("ErrNotSupported does not match errors.ErrUnsupported")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	validators := []interface{ Validate() error }{
		&DNS{}, File{}, &HTTP{Digest: "x", Path: "nope"}, ICMP{}, &Script{}, SMTP{HeloName: "a b"}, TCP{}, TLS{},
		&UDP{MinReplyLength: -1}, Policy{Interval: -1, Rise: -1},
	}
	var errs []error
	for _, v := range validators {
		err := v.Validate()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%T.Validate() = %v, want ErrInvalidConfig", v, err)
		}
		errs = append(errs, err)
		if c, ok := v.(Checker); ok {
			errs = append(errs, c.Check(ctx))
		}
	}
	_, err := CompileRegex(`(?=x)`)
	errs = append(errs, err)
	_, err = SSLConfig{CA: []byte("x")}.TLSConfig()
	errs = append(errs, err)
	_, err = SSL{CA: "/nonexistent/ca.pem"}.TLSConfig()
	errs = append(errs, err)
	_, err = ParseStatusRanges("abc")
	errs = append(errs, err)
	e := NewExternal("bfd", false)
	errs = append(errs, e.Check(ctx))
	m := NewMonitor(MonitorConfig{})
	_, err = m.Add(Watch{})
	errs = append(errs, err)
	rctx, rcancel := context.WithCancel(ctx)
	rcancel()
	if err := m.Run(rctx); err != nil {
		t.Fatal(err)
	}
	_, err = m.Add(Watch{Checker: e})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Run = %v, want ErrClosed", err)
	}
	errs = append(errs, err, m.Run(ctx))
	for i, err := range errs {
		if err == nil {
			t.Errorf("error path %d did not fail", i)
			continue
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "check: ") || strings.Count(line, "check: ") != 1 {
				t.Errorf("error %d: %q: want the prefix \"check: \" exactly once", i, line)
			}
		}
	}
}
