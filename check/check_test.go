package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// listenTCP returns a loopback listener closed in cleanup. A missing
// loopback address (no ::1) skips, or fails under KEEPALIVED_GO_REQUIRE_ALL.
func listenTCP(t *testing.T, network string) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		testutil.Skip(t, "listen %s: %v", network, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// closedPort returns a loopback TCP/UDP port nobody listens on.
func closedPort(t *testing.T, network string) netip.AddrPort {
	t.Helper()
	var a net.Addr
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a = c.LocalAddr()
		c.Close()
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a = l.Addr()
		l.Close()
	}
	return addrPort(t, a)
}

// serve accepts connections on l and runs h for each in a goroutine until
// the test ends; connections are closed when h returns.
func serve(t *testing.T, l net.Listener, h func(net.Conn)) {
	t.Helper()
	done := make(chan struct{})
	conns := make(chan struct{}, 1024)
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- struct{}{}
			go func() {
				defer func() { <-conns }()
				defer c.Close()
				h(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		// Wait for handlers (they end when their peer or deadline does).
		for range cap(conns) {
			select {
			case conns <- struct{}{}:
			case <-time.After(5 * time.Second):
				t.Error("handler did not finish")
				return
			}
		}
	})
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCheckerFunc(t *testing.T) {
	want := errors.New("boom")
	var c Checker = CheckerFunc(func(context.Context) error { return want })
	if got := c.Check(context.Background()); got != want {
		t.Fatalf("Check = %v, want %v", got, want)
	}
}

func TestErrorsAndReasons(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	tests := []struct {
		name   string
		err    error
		reason Reason
		is     []error
		text   string
	}{
		{"nil", nil, ReasonUnknown, nil, ""},
		{"bare deadline", os.ErrDeadlineExceeded, ReasonTimeout, nil, ""},
		{"bare canceled", context.Canceled, ReasonCanceled, nil, ""},
		{"plain", errors.New("x"), ReasonUnknown, nil, ""},
		{"status", fail(context.Background(), "http", "a", ReasonStatus, &StatusError{Code: 500, Want: "200-299", Text: "oops"}), ReasonStatus, nil,
			"check: http a: status: unexpected code 500 (want 200-299): oops"},
		{"refused", fail(context.Background(), "tcp", "a", ReasonConnect, fmt.Errorf("dial: %w", syscall.ECONNREFUSED)), ReasonConnect, []error{syscall.ECONNREFUSED}, ""},
		{"too large", fail(context.Background(), "http", "a", ReasonProtocol, ErrTooLarge), ReasonTooLarge, []error{ErrTooLarge}, ""},
		{"timeout ctx", fail(expired, "tcp", "a", ReasonConnect, errors.New("x")), ReasonTimeout, []error{context.DeadlineExceeded}, ""},
		{"canceled ctx", fail(canceled, "tcp", "a", ReasonConnect, errors.New("x")), ReasonCanceled, []error{context.Canceled}, ""},
		{"net timeout", fail(context.Background(), "tcp", "a", ReasonUnknown, &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), ReasonTimeout, nil, ""},
		{"insecure", fail(context.Background(), "script", "a", ReasonInsecure, &InsecureError{Path: "/x", Reason: "writable by everyone"}), ReasonInsecure, []error{ErrInsecure}, "check: script a: insecure: insecure /x: writable by everyone"},
		{"exit", &ExitError{Code: 1, Stderr: "bad"}, ReasonUnknown, nil, "exit status 1: bad"},
		{"signal", &ExitError{Code: -1, Signal: "killed"}, ReasonUnknown, nil, "killed by signal killed"},
		{"digest", &DigestError{Got: "a", Want: "b"}, ReasonUnknown, nil, "body digest a, want b"},
		{"answer", &AnswerError{}, ReasonUnknown, nil, "no answer"},
		{"answer missing", &AnswerError{Missing: []string{"x"}, Got: []string{"y"}}, ReasonUnknown, nil, `missing answer ["x"] (got ["y"])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReasonOf(tt.err); got != tt.reason {
				t.Errorf("ReasonOf = %v, want %v", got, tt.reason)
			}
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false", tt.err, target)
				}
			}
			if tt.text != "" && tt.err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.text)
			}
		})
	}
	if s := Reason(200).String(); s != "Reason(200)" {
		t.Errorf("String = %q", s)
	}
	for r := ReasonUnknown; r < Reason(len(reasonNames)); r++ {
		if strings.HasPrefix(r.String(), "Reason(") {
			t.Errorf("reason %d has no name", r)
		}
	}
}

func TestTCP(t *testing.T) {
	l4 := listenTCP(t, "tcp4")
	serve(t, l4, func(net.Conn) {})
	l6 := listenTCP(t, "tcp6")
	serve(t, l6, func(net.Conn) {})
	tests := []struct {
		name   string
		c      TCP
		reason Reason // ReasonUnknown = success
	}{
		{"v4 up", TCP{Addr: addrPort(t, l4.Addr())}, 0},
		{"v6 up", TCP{Addr: addrPort(t, l6.Addr())}, 0},
		{"bind address", TCP{Addr: addrPort(t, l4.Addr()), Bind: netip.MustParseAddrPort("127.0.0.1:0")}, 0},
		{"bind address and port", TCP{Addr: addrPort(t, l4.Addr()), Bind: closedPort(t, "tcp")}, 0},
		{"bind lo", TCP{Addr: addrPort(t, l4.Addr()), Interface: "lo"}, 0},
		{"bind missing interface", TCP{Addr: addrPort(t, l4.Addr()), Interface: "nonexistent0"}, ReasonConnect},
		{"refused", TCP{Addr: closedPort(t, "tcp")}, ReasonConnect},
		{"invalid", TCP{}, ReasonConfig},
		{"bind foreign address", TCP{Addr: addrPort(t, l4.Addr()), Bind: netip.MustParseAddrPort("192.0.2.1:0")}, ReasonConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.c.Interface == "lo" && os.Geteuid() != 0 {
				testutil.Skip(t, "SO_BINDTODEVICE needs CAP_NET_RAW (run as root)")
			}
			err := tt.c.Check(ctxTimeout(t, 5*time.Second))
			if got := ReasonOf(err); got != tt.reason || (tt.reason == 0) != (err == nil) {
				t.Fatalf("Check = %v (reason %v), want reason %v", err, got, tt.reason)
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Check != "tcp" {
					t.Fatalf("error %v is not a tcp *Error", err)
				}
			}
		})
	}
	if (TCP{Addr: addrPort(t, l4.Addr())}).CheckKey() != (TCP{Addr: addrPort(t, l4.Addr())}).CheckKey() {
		t.Error("equal TCP checks have different keys")
	}
}

func TestTCPTimeout(t *testing.T) {
	// A deadline that has passed fails with a timeout, whatever the target.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := TCP{Addr: netip.MustParseAddrPort("127.0.0.1:9")}.Check(ctx)
	if ReasonOf(err) != ReasonTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Check = %v, want timeout", err)
	}
}

func TestCheckKeys(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:25")
	tests := []struct {
		name       string
		same, diff Keyer
		base       Keyer
	}{
		{"smtp", SMTP{Addr: a, HeloName: "x"}, SMTP{Addr: a, HeloName: "y"}, SMTP{Addr: a, HeloName: "x"}},
		{"file", File{Path: "/f", Weight: 2}, File{Path: "/f", Weight: 2, Reverse: true}, File{Path: "/f", Weight: 2}},
		{"script", &Script{Path: "/s", Args: []string{"a b"}}, &Script{Path: "/s", Args: []string{"a", "b"}}, &Script{Path: "/s", Args: []string{"a b"}}},
		{"script env", &Script{Path: "/s", Env: []string{}}, &Script{Path: "/s"}, &Script{Path: "/s", Env: []string{}}},
		{"script empty env entry", &Script{Path: "/s", Env: []string{}}, &Script{Path: "/s", Env: []string{""}}, &Script{Path: "/s", Env: []string{}}},
		{"script empty argument", &Script{Path: "/s"}, &Script{Path: "/s", Args: []string{""}}, &Script{Path: "/s", Args: []string{}}},
		{"tcp", TCP{Addr: a}, TCP{Addr: a, Interface: "lo"}, TCP{Addr: a}},
	}
	for _, tt := range tests {
		if tt.base.CheckKey() != tt.same.CheckKey() {
			t.Errorf("%s: equal checks, different keys", tt.name)
		}
		if tt.base.CheckKey() == tt.diff.CheckKey() {
			t.Errorf("%s: different checks, equal keys", tt.name)
		}
	}
}
