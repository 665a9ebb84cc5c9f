package check_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/nux-root/keepalived-go/check"
)

// A CheckerFunc turns any function into a Checker; errors say why.
func ExampleCheckerFunc() {
	c := check.CheckerFunc(func(ctx context.Context) error {
		return &check.Error{Check: "custom", Target: "db", Reason: check.ReasonStatus,
			Err: &check.StatusError{Code: 503, Want: "200"}}
	})
	err := c.Check(context.Background())
	var se *check.StatusError
	fmt.Println(err)
	fmt.Println(check.ReasonOf(err), errors.As(err, &se) && se.Code == 503)
	// Output:
	// check: custom db: status: unexpected code 503 (want 200)
	// status true
}

// Digest is what keepalived's genhash prints for a body.
func ExampleDigest() {
	fmt.Println(check.Digest([]byte("hello, world\n")))
	// Output: 22c3683b094136c3398391ae71b20f04
}

// ParseStatusRanges reads keepalived's status_code syntax.
func ExampleParseStatusRanges() {
	rs, err := check.ParseStatusRanges("200-299 400-499 503")
	fmt.Println(rs, err)
	// Output: [200-299 400-499 503] <nil>
}

// An HTTP_GET-style check: status, digest and a regular expression.
func ExampleHTTP() {
	h := &check.HTTP{
		Addr:   netip.MustParseAddrPort("192.0.2.10:80"),
		Path:   "/health",
		Host:   "www.example.com",
		Status: []check.StatusRange{{Min: 200, Max: 299}},
		Digest: "22c3683b094136c3398391ae71b20f04",
		Regex:  regexp.MustCompile(`ok`),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := h.Check(ctx); err != nil {
		fmt.Println("down:", check.ReasonOf(err))
	}
}

// FILE_CHECK: an agent writes a number into a file.
func ExampleFile() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "weight")
	os.WriteFile(path, []byte("3\n"), 0o644)

	flag := check.File{Path: path}
	fmt.Println(check.ReasonOf(flag.Check(context.Background())))

	weighted := check.File{Path: path, Weight: 10}
	w, dynamic, err := weighted.CheckWeight(context.Background())
	fmt.Println(w, dynamic, err)
	// Output:
	// file
	// 30 true <nil>
}

// The pure Tracker: retries, then fall, with explicit times.
func ExampleTracker() {
	t0 := time.Unix(0, 0).UTC()
	tr, _ := check.NewTracker(check.Policy{Interval: 10 * time.Second, Retry: 1, DelayBeforeRetry: 2 * time.Second}, t0, 0)
	boom := errors.New("connection refused")
	for range 3 {
		now := tr.NextDeadline()
		tr.Begin(now)
		tn, changed := tr.Result(now, boom, 0, false)
		if changed {
			fmt.Println(now.Sub(t0), tn)
		} else {
			fmt.Println(now.Sub(t0), "no transition")
		}
	}
	// Output:
	// 0s no transition
	// 2s up -> down (fall): connection refused
	// 12s no transition
}

// A Monitor runs checks on schedule; identical checks (equal keys and
// policies) run once and fan out to every consumer.
func ExampleMonitor() {
	m := check.NewMonitor(check.MonitorConfig{})
	runs := 0
	db := check.CheckerFunc(func(ctx context.Context) error {
		runs++
		return errors.New("connection refused")
	})
	policy := check.Policy{Interval: time.Hour, Timeout: time.Second}
	for _, consumer := range []string{"vrrp", "ipvs"} {
		m.Add(check.Watch{Checker: db, Key: "db", Policy: policy, OnTransition: func(t check.Transition) {
			fmt.Println(consumer, t)
		}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	m.Run(ctx)
	fmt.Println(m.Stats().Targets, "target,", m.Stats().Subscribers, "subscribers,", runs, "check")
	// Output:
	// vrrp unknown -> up (initial)
	// ipvs unknown -> up (initial)
	// vrrp up -> down (fall): connection refused
	// ipvs up -> down (fall): connection refused
	// 1 target, 2 subscribers, 1 check
}

// A TCP_CHECK against a loopback listener that is not there.
func ExampleTCP() {
	c := check.TCP{Addr: netip.MustParseAddrPort("127.0.0.1:9")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := c.Check(ctx)
	fmt.Println(check.ReasonOf(err))
}

// MISC_CHECK with misc_dynamic, run as an unprivileged user with script
// security on. Arguments are passed without a shell.
func ExampleScript() {
	s := &check.Script{
		Path:     "/etc/keepalived/check_backend.sh",
		Args:     []string{"--port", "8080"},
		User:     "keepalived_script",
		Dynamic:  true,
		Security: true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	weight, dynamic, err := s.CheckWeight(ctx)
	switch {
	case err != nil:
		fmt.Println("down:", err)
	case dynamic:
		fmt.Println("up with weight", weight)
	default:
		fmt.Println("up")
	}
}

// DNS_CHECK: the server must answer with the expected address.
func ExampleDNS() {
	d := &check.DNS{
		Server: netip.MustParseAddrPort("127.0.0.1:53"),
		Name:   "www.example.com",
		Type:   1, // dns.TypeA
		Expect: []string{"192.0.2.10"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var ae *check.AnswerError
	if err := d.Check(ctx); errors.As(err, &ae) {
		fmt.Println("missing", ae.Missing)
	}
}

// SMTP_CHECK with EHLO and a name.
func ExampleSMTP() {
	s := check.SMTP{Addr: netip.MustParseAddrPort("127.0.0.1:25"), HeloName: "lb1.example.com", EHLO: true}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(s.Check(ctx))
}

// A keepalived url regex is compiled when the configuration is loaded: what
// Go's RE2 engine cannot run is a configuration error, not a check that
// always passes.
func ExampleCompileRegex() {
	re, err := check.CompileRegex(`status: (ok|degraded)`, "caseless")
	fmt.Println(re.MatchString("STATUS: OK"), err)

	_, err = check.CompileRegex(`^(?!maintenance)`)
	fmt.Println(errors.Is(err, check.ErrInvalidConfig))
	// Output:
	// true <nil>
	// true
}

// An External follows a state kept elsewhere — here a BFD session, as
// keepalived's BFD_CHECK does — and a Monitor reports its changes at once,
// not one interval later.
func ExampleExternal() {
	m := check.NewMonitor(check.MonitorConfig{})
	session := check.NewExternal("bfd 192.0.2.1", true)
	transitions := make(chan check.Transition, 4)
	m.Add(check.Watch{Checker: session, Policy: check.Policy{Interval: time.Hour},
		OnTransition: func(t check.Transition) { transitions <- t }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	fmt.Println(<-transitions)

	// From the bfd session's state callback, for example:
	session.Set(false, "session down")
	fmt.Println(<-transitions)
	session.Set(true, "")
	fmt.Println(<-transitions)

	cancel()
	<-done
	// Output:
	// unknown -> up (initial)
	// up -> down (fall): check: external bfd 192.0.2.1: external: reported down: session down
	// down -> up (rise)
}

// keepalived's SSL {} block for SSL_GET: verify the real servers against a
// CA and present a client certificate. The files are read here, when the
// configuration is loaded (no output: the files are not part of the
// example).
func ExampleSSL() {
	tc, err := check.SSL{CA: "/etc/keepalived/ca.pem",
		Certificate: "/etc/keepalived/checker.pem", Key: "/etc/keepalived/checker.key"}.TLSConfig()
	if err != nil {
		fmt.Println(err) // wraps check.ErrInvalidConfig: reject the configuration
		return
	}
	h := &check.HTTP{Addr: netip.MustParseAddrPort("192.0.2.10:443"), Path: "/health", TLS: tc}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	fmt.Println(h.Check(ctx))
}

// UDP_CHECK with min_reply_length and max_reply_length: a reply of another
// length fails with ReasonLength.
func ExampleUDP() {
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		n, from, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(append([]byte("pong "), buf[:n]...), from)
		}
	}()
	u := &check.UDP{Addr: netip.MustParseAddrPort(pc.LocalAddr().String()), Payload: []byte("ping"),
		RequireReply: true, MinReplyLength: 10, MaxReplyLength: 64}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := u.Check(ctx)
	var le *check.LengthError
	fmt.Println(check.ReasonOf(err), errors.As(err, &le) && le.Len == 9)
	// Output:
	// reply length true
}
