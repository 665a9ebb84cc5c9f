package check

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// freePort returns a loopback port free for both TCP and UDP right now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			pc.Close()
			return uint16(port)
		}
	}
	t.Fatal("no free port")
	return 0
}

// daemon is a server process started by a test.
type daemon struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan struct{}
}

// startDaemon starts a foreground server process. Cleanup kills it by PID
// and waits for it.
func startDaemon(t *testing.T, path string, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(path, args...), out: new(bytes.Buffer), exited: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	// Its own process group, so kill reaches the children it forks too
	// (dnsmasq forks one per TCP connection, and a child keeps the
	// listening sockets open after the parent exits).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), d.out.String())
		}
	})
	return d
}

// kill ends the daemon and every process it forked (SIGTERM to its
// process group, then SIGKILL) and waits for the daemon itself.
func (d *daemon) kill() {
	pgid := -d.cmd.Process.Pid
	select {
	case <-d.exited:
	default:
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-d.exited
		}
	}
	// Children outlive a SIGTERMed parent only until they see it; make
	// sure none is left (ESRCH once the group is empty).
	_ = syscall.Kill(pgid, syscall.SIGKILL)
}

// waitPortFree waits until nothing holds 127.0.0.1:port for UDP or TCP any
// more (the daemon and every child it forked have closed their sockets), at
// most about 10 s. A test that expects "port unreachable" from a stopped
// server must not probe while a child still holds the socket.
func waitPortFree(t *testing.T, port uint16) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	var err error
	for range 200 {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp4", addr); err == nil {
			pc.Close()
			var l net.Listener
			if l, err = net.Listen("tcp4", addr); err == nil {
				l.Close()
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("port %d still in use after the server was stopped: %v", port, err)
}

// waitUp runs c until it succeeds (at most about 10 s).
func waitUp(t *testing.T, d *daemon, c Checker) {
	t.Helper()
	var err error
	for range 100 {
		select {
		case <-d.exited:
			t.Fatalf("daemon exited early")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = c.Check(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("server never came up: %v", err)
}

func TestInteropDNSMasq(t *testing.T) {
	bin := testutil.RequireCommand(t, "dnsmasq")
	port := freePort(t)
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("192.0.2.20 db.example.com\n2001:db8::20 db.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--keep-in-foreground", "--conf-file=/dev/null", "--port", strconv.Itoa(int(port)),
		"--listen-address", "127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=",
		"--log-facility=-", "--addn-hosts=" + hosts,
		"--address=/www.example.com/192.0.2.10", "--address=/www.example.com/2001:db8::10",
		"--txt-record=txt.example.com,v=kgo1", "--cname=alias.example.com,db.example.com",
		"--mx-host=example.com,mx.example.com,10"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	d := startDaemon(t, bin, args...)
	server := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	waitUp(t, d, &DNS{Server: server, Name: "www.example.com", Type: dns.TypeA})

	tests := []struct {
		name   string
		d      DNS
		reason Reason
	}{
		{"a", DNS{Name: "www.example.com", Type: dns.TypeA, Expect: []string{"192.0.2.10"}}, 0},
		{"aaaa", DNS{Name: "www.example.com", Type: dns.TypeAAAA, Expect: []string{"2001:db8::10"}}, 0},
		{"hosts file", DNS{Name: "db.example.com", Type: dns.TypeA, Expect: []string{"192.0.2.20"}}, 0},
		{"cname", DNS{Name: "alias.example.com", Type: dns.TypeCNAME, Expect: []string{"db.example.com"}}, 0},
		{"txt", DNS{Name: "txt.example.com", Type: dns.TypeTXT, Expect: []string{"v=kgo1"}}, 0},
		{"mx", DNS{Name: "example.com", Type: dns.TypeMX, Expect: []string{"mx.example.com"}}, 0},
		{"tcp", DNS{Name: "www.example.com", Type: dns.TypeA, Expect: []string{"192.0.2.10"}, TCP: true}, 0},
		{"wrong answer", DNS{Name: "www.example.com", Type: dns.TypeA, Expect: []string{"192.0.2.99"}}, ReasonAnswer},
		{"unknown name", DNS{Name: "nope.invalid", Type: dns.TypeA}, ReasonStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.d
			c.Server = server
			checkResult(t, c.Check(ctxTimeout(t, 2*time.Second)), tt.reason, nil)
		})
	}
	t.Run("udp check with a dns payload", func(t *testing.T) {
		q := new(dns.Msg)
		q.SetQuestion("www.example.com.", dns.TypeA)
		u := &UDP{Addr: server, Payload: pack(q), RequireReply: true, Expect: []byte{byte(q.Id >> 8), byte(q.Id)}}
		checkResult(t, u.Check(ctxTimeout(t, 2*time.Second)), 0, nil)
	})
	d.kill()
	waitPortFree(t, port)
	t.Run("stopped server", func(t *testing.T) {
		checkResult(t, (&DNS{Server: server}).Check(ctxTimeout(t, 2*time.Second)), ReasonUnreachable, nil)
		checkResult(t, (&UDP{Addr: server, Payload: []byte("x")}).Check(ctxTimeout(t, 2*time.Second)), ReasonUnreachable, nil)
		checkResult(t, (&DNS{Server: server, TCP: true}).Check(ctxTimeout(t, 2*time.Second)), ReasonConnect, nil)
	})
}

func TestInteropOpenSMTPD(t *testing.T) {
	testutil.RequireRoot(t) // smtpd insists on running as root (privilege separation)
	bin := testutil.RequireCommand(t, "smtpd")
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "smtpd.conf")
	text := "listen on 127.0.0.1 port " + strconv.Itoa(int(port)) + "\n" +
		"action \"local\" mbox\nmatch from any for local action \"local\"\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, "-d", "-f", conf)
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	waitUp(t, d, SMTP{Addr: addr})
	for _, s := range []SMTP{{Addr: addr}, {Addr: addr, EHLO: true, HeloName: "checker.example.com"}} {
		checkResult(t, s.Check(ctxTimeout(t, 5*time.Second)), 0, nil)
	}
	d.kill()
	waitPortFree(t, port)
	checkResult(t, SMTP{Addr: addr}.Check(ctxTimeout(t, 5*time.Second)), ReasonConnect, nil)
}

func TestIntegrationICMP(t *testing.T) {
	testutil.RequireRoot(t)
	t.Run("raw socket on host loopback", func(t *testing.T) {
		for _, a := range []string{"127.0.0.1", "::1"} {
			checkResult(t, ICMP{Addr: netip.MustParseAddr(a), Privileged: true}.Check(ctxTimeout(t, 2*time.Second)), 0, nil)
		}
	})
	t.Run("ping socket in namespace", func(t *testing.T) {
		ns := testutil.NewNetNS(t)
		err := ns.Do(func() error {
			// Allow every group to open ping sockets, in this namespace only.
			return os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"127.0.0.1", "::1"} {
			var cerr error
			if err := ns.Do(func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				cerr = ICMP{Addr: netip.MustParseAddr(a), Size: 100}.Check(ctx)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			checkResult(t, cerr, 0, nil)
		}
	})
	t.Run("no reply in namespace", func(t *testing.T) {
		a, _ := testutil.NewPair(t)
		for _, tc := range []struct {
			addr   string
			priv   bool
			reason Reason
		}{
			{"192.0.2.2", true, 0},
			{"2001:db8::2", true, 0},
			{"192.0.2.77", true, ReasonNoReply},
		} {
			// A just-created veth may drop the very first packets while
			// the link settles; retry the expected-up cases a few times.
			var cerr error
			for range 5 {
				if err := a.Do(func() error {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					defer cancel()
					cerr = ICMP{Addr: netip.MustParseAddr(tc.addr), Privileged: tc.priv}.Check(ctx)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if cerr == nil || tc.reason != 0 {
					break
				}
			}
			checkResult(t, cerr, tc.reason, nil)
		}
	})
}
