package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// daemonProc is our keepalived binary running in a namespace.
type daemonProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	conf   string
	log    string
	states chan testutil.KeepalivedState
	seen   []testutil.KeepalivedState // every line read by waitState
	exited chan struct{}
}

// buildDaemon builds this package into a temporary directory (the go
// command is a prerequisite).
func buildDaemon(t *testing.T) string {
	t.Helper()
	goBin := testutil.RequireCommand(t, "go")
	bin := filepath.Join(t.TempDir(), "keepalived-go")
	// -race: the daemon's own data races show in its log (checked in
	// Cleanup).
	cmd := exec.Command(goBin, "build", "-race", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDaemon writes conf (with NOTIFY_FIFO replaced by a private FIFO)
// and runs our daemon inside ns; it is killed by PID in Cleanup.
func startDaemon(t *testing.T, ns *testutil.NetNS, bin, conf string) *daemonProc {
	t.Helper()
	return startDaemonArgs(t, ns, bin, conf)
}

// startDaemonArgs is startDaemon with extra command line arguments.
func startDaemonArgs(t *testing.T, ns *testutil.NetNS, bin, conf string, extra ...string) *daemonProc {
	t.Helper()
	dir := t.TempDir()
	p := &daemonProc{t: t, dir: dir, conf: filepath.Join(dir, "keepalived.conf"), log: filepath.Join(dir, "log"),
		states: make(chan testutil.KeepalivedState, 64), exited: make(chan struct{})}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// O_RDWR: the open does not wait for a writer.
	rf, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(rf)
		for sc.Scan() {
			s, err := testutil.ParseKeepalivedState(sc.Text())
			if err != nil {
				t.Errorf("notify_fifo: %v", err)
				continue
			}
			s.At = time.Now()
			select {
			case p.states <- s:
			default:
				t.Errorf("notify_fifo: state channel full, dropped %+v", s)
			}
		}
	}()
	p.writeConf(strings.ReplaceAll(conf, "NOTIFY_FIFO", fifo))
	lf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = ns.Command(context.Background(), bin, "-n", "-l", "-D", "-f", p.conf, "--dump-dir", dir,
		"-p", filepath.Join(dir, "keepalived.pid"), "--iface-poll", "100ms", "--script-timeout", "5s")
	p.cmd.Args = append(p.cmd.Args, extra...)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		lf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				t.Errorf("daemon pid %d did not exit after SIGKILL", p.cmd.Process.Pid)
			}
		}
		rf.Close()
		<-readerDone
		if b, _ := os.ReadFile(p.log); strings.Contains(string(b), "DATA RACE") || strings.Contains(string(b), "panic:") {
			t.Error("the daemon raced or panicked (see its log)")
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("daemon log:\n%s", b)
		}
	})
	return p
}

func (p *daemonProc) writeConf(conf string) {
	p.t.Helper()
	if err := os.WriteFile(p.conf, []byte(conf), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *daemonProc) signal(s syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatalf("signal %v: %v", s, err)
	}
}

// waitState waits for a notify_fifo line of instance with state.
func (p *daemonProc) waitState(instance, state string, timeout time.Duration) testutil.KeepalivedState {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case s := <-p.states:
			p.t.Logf("ours: %s %q %s %d", s.Type, s.Instance, s.State, s.Priority)
			p.seen = append(p.seen, s)
			if s.Instance == instance && s.State == state {
				return s
			}
		case <-p.exited:
			p.t.Fatalf("daemon exited while waiting for %s %s", instance, state)
		case <-deadline:
			p.t.Fatalf("ours: %s did not reach %s within %v", instance, state, timeout)
		}
	}
}

// noStates asserts that no notify_fifo line arrives for d.
func (p *daemonProc) noStates(d time.Duration) {
	p.t.Helper()
	select {
	case s := <-p.states:
		p.t.Fatalf("unexpected transition %s %q %s %d", s.Type, s.Instance, s.State, s.Priority)
	case <-p.exited:
		p.t.Fatal("daemon exited")
	case <-time.After(d):
	}
}

// waitExit waits for the daemon to exit.
func (p *daemonProc) waitExit(timeout time.Duration) {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("daemon did not exit within %v", timeout)
	}
}

func (p *daemonProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// hasAddr reports whether addr (without prefix) is on eth0 in ns.
func hasAddr(t *testing.T, ns *testutil.NetNS, addr string) bool {
	t.Helper()
	out := ns.Run(t, "ip", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+addr+"/")
}

// waitAddr waits until addr is present (or absent) on eth0 in ns.
func waitAddr(t *testing.T, ns *testutil.NetNS, addr string, present bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for hasAddr(t, ns, addr) != present {
		if time.Now().After(deadline) {
			t.Fatalf("%s present=%v not reached within %v:\n%s", addr, present, timeout,
				ns.Run(t, "ip", "-o", "addr", "show", "dev", "eth0"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const interopConf = `global_defs {
    notify_fifo NOTIFY_FIFO
    vrrp_garp_master_delay 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 51
    priority %d
    advert_int 0.3
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// keepalivedConf is interopConf for the real keepalived (its own FIFO).
func keepalivedConf(prio int) string {
	return strings.Replace(fmt.Sprintf(interopConf, prio), "    notify_fifo NOTIFY_FIFO\n", "", 1)
}

func requireInterop(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "keepalived")
}

// TestInteropElection: our daemon with the higher priority becomes MASTER
// and real keepalived BACKUP; the VIP is ours only.
func TestInteropElection(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	k := testutil.StartKeepalived(t, b, keepalivedConf(100), testutil.KeepalivedOptions{})
	ours := startDaemon(t, a, bin, fmt.Sprintf(interopConf, 150))
	s := ours.waitState("VI_1", "MASTER", 15*time.Second)
	if s.Priority != 150 {
		t.Errorf("MASTER priority = %d, want 150", s.Priority)
	}
	k.WaitState(t, "VI_1", "BACKUP", 15*time.Second)
	waitAddr(t, a, "192.0.2.100", true, 5*time.Second)
	// keepalived must stay BACKUP and not own the VIP for 2 s (about twice
	// its master down interval with 0.3 s adverts).
	time.Sleep(2 * time.Second)
	if hasAddr(t, b, "192.0.2.100") {
		t.Error("keepalived owns the VIP too (dual master)")
	}
	ours.signal(syscall.SIGTERM)
	ours.waitState("VI_1", "STOP", 10*time.Second)
	// keepalived takes over after our priority-0 advert.
	k.WaitState(t, "VI_1", "MASTER", 10*time.Second)
}

// TestInteropLifecycle: keepalived is MASTER, we are BACKUP; kill -9 of
// keepalived → we take over and own the VIP; SIGHUP with a new priority →
// no flap and the new priority on the wire; SIGHUP with a broken config →
// still running unchanged; SIGUSR2 → JSON dump; SIGTERM → the VIP is
// removed and nothing else (an operator's address survives).
func TestInteropLifecycle(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	a.Run(t, "ip", "addr", "add", "198.51.100.7/24", "dev", "eth0")

	k := testutil.StartKeepalived(t, b, keepalivedConf(200), testutil.KeepalivedOptions{})
	k.WaitState(t, "VI_1", "MASTER", 15*time.Second)
	ours := startDaemon(t, a, bin, fmt.Sprintf(interopConf, 100))
	ours.waitState("VI_1", "BACKUP", 15*time.Second)
	time.Sleep(time.Second) // several master down intervals
	if hasAddr(t, a, "192.0.2.100") {
		t.Fatal("BACKUP owns the VIP")
	}

	// kill -9 of keepalived: we take over.
	k.Kill()
	killed := time.Now()
	s := ours.waitState("VI_1", "MASTER", 10*time.Second)
	t.Logf("takeover %v after SIGKILL", s.At.Sub(killed))
	waitAddr(t, a, "192.0.2.100", true, 5*time.Second)

	// SIGHUP with a priority change: no transition, new priority on the wire.
	c := testutil.StartCapture(t, b, "eth0", "ip proto 112")
	ours.writeConf(strings.ReplaceAll(fmt.Sprintf(interopConf, 120), "NOTIFY_FIFO", filepath.Join(ours.dir, "fifo")))
	ours.signal(syscall.SIGHUP)
	ours.noStates(2 * time.Second)
	pcap := c.Stop()
	rows := testutil.TsharkFields(t, pcap, "ip.src", "vrrp.prio")
	if len(rows) == 0 {
		t.Fatal("no VRRP packets captured")
	}
	last := rows[len(rows)-1]
	if last[0] != "192.0.2.1" || last[1] != "120" {
		t.Errorf("last advert = %v, want from 192.0.2.1 with priority 120", last)
	}
	if !hasAddr(t, a, "192.0.2.100") {
		t.Error("VIP flapped away on reload")
	}

	// SIGUSR2: JSON dump with the new priority.
	ours.signal(syscall.SIGUSR2)
	dump := waitJSONDump(t, filepath.Join(ours.dir, "keepalived.json"))
	if len(dump.Instances) != 1 || dump.Instances[0].State != "MASTER" || dump.Instances[0].Priority != 120 {
		t.Errorf("dump = %+v, want VI_1 MASTER priority 120", dump.Instances)
	}

	// SIGUSR1: text dump.
	ours.signal(syscall.SIGUSR1)
	waitFile(t, filepath.Join(ours.dir, "keepalived.data"))
	if b, _ := os.ReadFile(filepath.Join(ours.dir, "keepalived.data")); !strings.Contains(string(b), "VRRP Instance = VI_1") ||
		!strings.Contains(string(b), "State = MASTER") || !strings.Contains(string(b), "Priority = 120") {
		t.Errorf("text dump lacks VI_1 MASTER priority 120:\n%s", b)
	}

	// SIGHUP with a broken config: still running, untouched.
	ours.writeConf("vrrp_instance {\n    virtual_router_id 51\n    priority 10\n}\n")
	ours.signal(syscall.SIGHUP)
	ours.noStates(1500 * time.Millisecond)
	if !ours.alive() {
		t.Fatal("daemon died on a broken config")
	}
	if !hasAddr(t, a, "192.0.2.100") {
		t.Error("VIP removed after a failed reload")
	}
	logb, _ := os.ReadFile(ours.log)
	if !strings.Contains(string(logb), "keepalived.conf:1:1: vrrp_instance: missing name") || !strings.Contains(string(logb), "reload failed") {
		t.Errorf("log lacks the position of the config error or the reload failure")
	}

	// SIGTERM: the VIP goes, nothing else does.
	ours.signal(syscall.SIGTERM)
	ours.waitState("VI_1", "STOP", 10*time.Second)
	select {
	case <-ours.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not exit after SIGTERM")
	}
	if hasAddr(t, a, "192.0.2.100") {
		t.Error("VIP left behind after SIGTERM")
	}
	for _, addr := range []string{"198.51.100.7", "192.0.2.1"} {
		if !hasAddr(t, a, addr) {
			t.Errorf("SIGTERM removed %s, which is not ours", addr)
		}
	}
}

func waitJSONDump(t *testing.T, path string) stateDump {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var d stateDump
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("json dump: %v", err)
			}
			return d
		}
		if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			t.Fatalf("json dump: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInteropTrackScriptNotify: a failing vrrp_script lowers our priority
// by its weight and keepalived preempts us; notify_master, notify_backup
// and the generic notify script run without a shell with keepalived's
// arguments; metrics are served.
func TestInteropTrackScriptNotify(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notify := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(notify, []byte("#!/bin/sh\necho \"$@\" >> "+filepath.Join(dir, "notify.log")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global_defs {
    notify_fifo NOTIFY_FIFO
}
vrrp_script chk {
    script "/usr/bin/test -e %s"
    interval 0.2
    fall 1
    rise 1
    weight -100
}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    priority 150
    advert_int 0.3
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_script {
        chk
    }
    notify_master "/usr/bin/touch %s"
    notify_backup "/usr/bin/touch %s"
    notify "%s 'quoted arg'"
}
`, flag, filepath.Join(dir, "was-master"), filepath.Join(dir, "was-backup"), notify)
	k := testutil.StartKeepalived(t, b, keepalivedConf(100), testutil.KeepalivedOptions{})
	ours := startDaemonArgs(t, a, bin, conf, "--metrics-addr", "127.0.0.1:9650")
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	k.WaitState(t, "VI_1", "BACKUP", 15*time.Second)

	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	s := ours.waitState("VI_1", "BACKUP", 15*time.Second)
	if s.Priority != 50 {
		t.Errorf("BACKUP priority = %d, want 150-100 = 50", s.Priority)
	}
	k.WaitState(t, "VI_1", "MASTER", 15*time.Second)
	waitAddr(t, a, "192.0.2.100", false, 5*time.Second)

	waitFile(t, filepath.Join(dir, "was-master"))
	waitFile(t, filepath.Join(dir, "was-backup"))
	logPath := filepath.Join(dir, "notify.log")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "quoted arg INSTANCE VI_1 MASTER 150\n") &&
			strings.Contains(string(b), "quoted arg INSTANCE VI_1 BACKUP 50\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notify.log = %q, want MASTER 150 and BACKUP 50 lines", b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	body := scrape(t, a, "127.0.0.1:9650")
	for _, want := range []string{
		`keepalived_vrrp_state{iface="eth0",instance="VI_1",vrid="51"} 1`,
		`keepalived_vrrp_priority{instance="VI_1"} 50`,
		`keepalived_vrrp_transitions_total{instance="VI_1",state="MASTER"} 1`,
		`keepalived_vip_operations_total{op="add",result="ok"} 1`,
		`keepalived_checker_transitions_total{kind="vrrp_script",name="chk",state="down"} 1`,
		"keepalived_vrrp_adverts_sent_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not created by the notify script", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape fetches /metrics from addr inside ns (a plain HTTP/1.0 request on
// a socket opened in the namespace).
func scrape(t *testing.T, ns *testutil.NetNS, addr string) string {
	t.Helper()
	var body []byte
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		body, err = io.ReadAll(c)
		return err
	})
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	return string(body)
}

// TestInteropVariants: election against keepalived (ours higher) and
// takeover by keepalived after our SIGTERM, for VRRPv2 with a password,
// VRRPv3 over IPv6 (link-local sources) and unicast.
func TestInteropVariants(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	tests := []struct {
		name      string
		body      string // instance body after the priority line
		ours, vip string
		peerA     string // keepalived's unicast lines (peer is us)
	}{
		{"v2 auth PASS", "    version 2\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n", "", "192.0.2.100", ""},
		{"v3 IPv6", "    version 3\n    advert_int 0.3\n    virtual_ipaddress {\n        2001:db8::100/64\n    }\n", "", "2001:db8::100", ""},
		{"v3 unicast", "    version 3\n    advert_int 0.3\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n",
			"    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n    }\n", "192.0.2.100",
			"    unicast_src_ip 192.0.2.2\n    unicast_peer {\n        192.0.2.1\n    }\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := testutil.NewPair(t)
			inst := func(prio int, extra string) string {
				return fmt.Sprintf("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority %d\n%s%s}\n", prio, tt.body, extra)
			}
			k := testutil.StartKeepalived(t, b, inst(100, tt.peerA), testutil.KeepalivedOptions{})
			ours := startDaemon(t, a, bin, "global_defs {\n    notify_fifo NOTIFY_FIFO\n}\n"+inst(150, tt.ours))
			ours.waitState("VI_1", "MASTER", 20*time.Second)
			k.WaitState(t, "VI_1", "BACKUP", 20*time.Second)
			waitAddr(t, a, tt.vip, true, 5*time.Second)
			ours.signal(syscall.SIGTERM)
			ours.waitState("VI_1", "STOP", 10*time.Second)
			k.WaitState(t, "VI_1", "MASTER", 10*time.Second)
			waitAddr(t, a, tt.vip, false, 5*time.Second)
		})
	}
}

// TestIntegrationReloadAddRemove: reloads that add an address and an
// instance, then remove them, touch only what changed.
func TestIntegrationReloadAddRemove(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildDaemon(t)
	a, _ := testutil.NewPair(t)
	inst := func(name string, vrid int, vips ...string) string {
		return fmt.Sprintf("vrrp_instance %s {\n    interface eth0\n    version 3\n    virtual_router_id %d\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {\n        %s\n    }\n}\n",
			name, vrid, strings.Join(vips, "\n        "))
	}
	head := "global_defs {\n    notify_fifo NOTIFY_FIFO\n}\n"
	ours := startDaemon(t, a, bin, head+inst("VI_1", 51, "192.0.2.100/24"))
	fifo := filepath.Join(ours.dir, "fifo")
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	waitAddr(t, a, "192.0.2.100", true, 5*time.Second)
	ours.seen = nil

	// Add an address to VI_1 and a new instance VI_2.
	ours.writeConf(strings.ReplaceAll(head, "NOTIFY_FIFO", fifo) +
		inst("VI_1", 51, "192.0.2.100/24", "192.0.2.101/24") + inst("VI_2", 52, "192.0.2.102/24"))
	ours.signal(syscall.SIGHUP)
	ours.waitState("VI_2", "MASTER", 15*time.Second)
	waitAddr(t, a, "192.0.2.101", true, 5*time.Second)
	waitAddr(t, a, "192.0.2.102", true, 5*time.Second)

	// Drop VI_2 and 192.0.2.100 from VI_1.
	ours.writeConf(strings.ReplaceAll(head, "NOTIFY_FIFO", fifo) + inst("VI_1", 51, "192.0.2.101/24"))
	ours.signal(syscall.SIGHUP)
	ours.waitState("VI_2", "STOP", 10*time.Second)
	waitAddr(t, a, "192.0.2.102", false, 5*time.Second)
	waitAddr(t, a, "192.0.2.100", false, 5*time.Second)
	ours.noStates(time.Second)
	for _, s := range ours.seen {
		if s.Instance == "VI_1" {
			t.Errorf("VI_1 transitioned on reload: %+v", s)
		}
	}
	if !hasAddr(t, a, "192.0.2.101") {
		t.Error("192.0.2.101 removed although still configured")
	}
	ours.signal(syscall.SIGTERM)
	ours.waitState("VI_1", "STOP", 10*time.Second)
	waitAddr(t, a, "192.0.2.101", false, 5*time.Second)
}

// TestIntegrationTrackInterface: an instance tracking an interface goes
// to FAULT when the link loses carrier and back when it returns.
func TestIntegrationTrackInterface(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	testutil.Link(t, a, "ifA", b, "ifB")
	ours := startDaemon(t, a, bin, `global_defs {
    notify_fifo NOTIFY_FIFO
}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    priority 150
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_interface {
        ifA
    }
}
`)
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	b.Run(t, "ip", "link", "set", "ifB", "down")
	ours.waitState("VI_1", "FAULT", 10*time.Second)
	waitAddr(t, a, "192.0.2.100", false, 5*time.Second)
	b.Run(t, "ip", "link", "set", "ifB", "up")
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	waitAddr(t, a, "192.0.2.100", true, 5*time.Second)
}

// TestInteropSyncGroup: two instances in a sync group against keepalived
// running the same group: when keepalived is killed both of ours become
// MASTER together and the GROUP line is written.
func TestInteropSyncGroup(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	testutil.Link(t, a, "eth1", b, "eth1")
	a.Run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "eth1")
	b.Run(t, "ip", "addr", "add", "198.51.100.2/24", "dev", "eth1")
	conf := func(prio int) string {
		return fmt.Sprintf(`vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    priority %[1]d
    advert_int 0.3
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth1
    version 3
    virtual_router_id 52
    priority %[1]d
    advert_int 0.3
    virtual_ipaddress {
        198.51.100.100/24
    }
}
`, prio)
	}
	k := testutil.StartKeepalived(t, b, conf(200), testutil.KeepalivedOptions{})
	k.WaitState(t, "VI_1", "MASTER", 15*time.Second)
	ours := startDaemon(t, a, bin, "global_defs {\n    notify_fifo NOTIFY_FIFO\n}\n"+conf(100))
	ours.waitState("G", "BACKUP", 15*time.Second)
	k.Kill()
	ours.waitState("G", "MASTER", 10*time.Second)
	waitAddr(t, a, "192.0.2.100", true, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(a.Run(t, "ip", "-o", "addr", "show", "dev", "eth1"), " 198.51.100.100/") {
		if time.Now().After(deadline) {
			t.Fatal("VI_2's address not installed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInteropVMAC: with use_vmac our MASTER puts the VIP on a macvlan
// with the virtual router MAC, keepalived (no VMAC) stays BACKUP, the peer
// learns the virtual MAC for the VIP, and SIGTERM deletes the interface.
func TestInteropVMAC(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	k := testutil.StartKeepalived(t, b, keepalivedConf(100), testutil.KeepalivedOptions{})
	conf := strings.Replace(fmt.Sprintf(interopConf, 150), "    advert_int 0.3\n", "    advert_int 0.3\n    use_vmac\n", 1)
	c := testutil.StartCapture(t, b, "eth0", "arp")
	ours := startDaemon(t, a, bin, conf)
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	k.WaitState(t, "VI_1", "BACKUP", 15*time.Second)
	link := a.Run(t, "ip", "-o", "link", "show", "vrrp.51")
	if !strings.Contains(link, "00:00:5e:00:01:33") {
		t.Errorf("vrrp.51 lacks the virtual MAC: %s", link)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(a.Run(t, "ip", "-o", "addr", "show", "dev", "vrrp.51"), " 192.0.2.100/24") {
		if time.Now().After(deadline) {
			t.Fatal("VIP not on vrrp.51")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Run(t, "ping", "-c", "1", "-W", "2", "192.0.2.100")
	// GARPs and the ARP reply for the VIP carry the virtual MAC. (The
	// peer's neighbour entry is not checked: the kernel's own ARP request
	// for the echo reply leaves the parent interface with the VIP as
	// sender and overwrites it, as with keepalived unless arp_announce is
	// set.)
	garps, replies := 0, 0
	for _, r := range testutil.TsharkFields(t, c.Stop(), "eth.src", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.proto_ipv4") {
		if r[3] != "192.0.2.100" || r[0] == "" {
			continue
		}
		if r[4] == "192.0.2.100" && r[2] == "00:00:5e:00:01:33" {
			garps++
		}
		if r[1] == "2" && r[4] == "192.0.2.2" {
			replies++
			if r[2] != "00:00:5e:00:01:33" {
				t.Errorf("ARP reply for the VIP from %s, want the virtual MAC", r[2])
			}
		}
	}
	if garps == 0 || replies == 0 {
		t.Errorf("saw %d GARPs and %d ARP replies from the virtual MAC, want some of each", garps, replies)
	}
	ours.signal(syscall.SIGTERM)
	ours.waitState("VI_1", "STOP", 10*time.Second)
	ours.waitExit(10 * time.Second)
	if out, err := a.Command(context.Background(), "ip", "link", "show", "vrrp.51").CombinedOutput(); err == nil {
		t.Errorf("vrrp.51 left behind: %s", out)
	}
	k.WaitState(t, "VI_1", "MASTER", 10*time.Second)
}

// TestIntegrationStatic: static_ipaddress and static_routes are added at
// start, reconciled on reload and removed on exit.
func TestIntegrationStatic(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildDaemon(t)
	a, _ := testutil.NewPair(t)
	conf := func(routes string) string {
		return `global_defs {
    notify_fifo NOTIFY_FIFO
}
static_ipaddress {
    198.51.100.5/24 dev eth0
}
static_routes {
` + routes + `}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`
	}
	ours := startDaemon(t, a, bin, conf("    203.0.113.0/24 via 192.0.2.2\n"))
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	if !hasAddr(t, a, "198.51.100.5") {
		t.Error("static address missing")
	}
	if r := a.Run(t, "ip", "route", "show", "203.0.113.0/24"); !strings.Contains(r, "via 192.0.2.2") {
		t.Errorf("static route missing: %q", r)
	}
	ours.writeConf(strings.ReplaceAll(conf(""), "NOTIFY_FIFO", filepath.Join(ours.dir, "fifo")))
	ours.signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for strings.TrimSpace(a.Run(t, "ip", "route", "show", "203.0.113.0/24")) != "" {
		if time.Now().After(deadline) {
			t.Fatal("static route not removed on reload")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ours.noStates(500 * time.Millisecond)
	ours.signal(syscall.SIGTERM)
	ours.waitExit(10 * time.Second)
	if hasAddr(t, a, "198.51.100.5") || hasAddr(t, a, "192.0.2.100") {
		t.Error("addresses left behind after SIGTERM")
	}
	if !hasAddr(t, a, "192.0.2.1") {
		t.Error("the interface's own address was removed")
	}
}

// TestIntegrationLateInterface: an instance whose interface does not
// exist yet starts once it appears.
func TestIntegrationLateInterface(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildDaemon(t)
	a := testutil.NewNetNS(t)
	ours := startDaemon(t, a, bin, `global_defs {
    notify_fifo NOTIFY_FIFO
}
vrrp_instance VI_1 {
    interface late0
    version 3
    virtual_router_id 51
    advert_int 0.1
    virtual_ipaddress {
        203.0.113.100/24
    }
}
`)
	time.Sleep(500 * time.Millisecond)
	a.Run(t, "ip", "link", "add", "late0", "type", "veth", "peer", "name", "late1")
	a.Run(t, "ip", "link", "set", "late1", "up")
	a.Run(t, "ip", "addr", "add", "203.0.113.1/24", "dev", "late0")
	a.Run(t, "ip", "link", "set", "late0", "up")
	ours.waitState("VI_1", "MASTER", 15*time.Second)
}

// TestIntegrationTrackProcess: an unweighted track_process faults the
// instance while the process is not running.
func TestIntegrationTrackProcess(t *testing.T) {
	testutil.RequireRoot(t)
	sleepBin := testutil.RequireCommand(t, "sleep")
	bin := buildDaemon(t)
	a, _ := testutil.NewPair(t)
	arg := fmt.Sprintf("%d.%d", 3000+os.Getpid()%1000, time.Now().UnixNano()%1000000) // unique
	ours := startDaemon(t, a, bin, fmt.Sprintf(`global_defs {
    notify_fifo NOTIFY_FIFO
}
track_process proc {
    process sleep %s
    weight 0
}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_process {
        proc
    }
}
`, arg))
	ours.waitState("VI_1", "FAULT", 15*time.Second)
	cmd := exec.Command(sleepBin, arg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	_ = cmd.Process.Kill()
	<-done
	ours.waitState("VI_1", "FAULT", 10*time.Second)
}

// TestInteropTrackBFD: our instance tracks a BFD session with keepalived's
// BFD child; when keepalived is killed the session goes down and the
// instance goes to FAULT (unweighted track_bfd).
func TestInteropTrackBFD(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	k := testutil.StartKeepalived(t, b, fmt.Sprintf(`bfd_instance KGO {
    neighbor_ip %s
    source_ip %s
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
`, testutil.PairA4, testutil.PairB4), testutil.KeepalivedOptions{BFD: true})
	ours := startDaemon(t, a, bin, fmt.Sprintf(`global_defs {
    notify_fifo NOTIFY_FIFO
}
bfd_instance KA {
    neighbor_ip %s
    source_ip %s
    min_rx 100
    min_tx 100
    multiplier 3
}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_bfd {
        KA
    }
}
`, testutil.PairB4, testutil.PairA4))
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	// Wait for the session to come up (logged), then kill keepalived.
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(ours.log)
		if strings.Contains(string(b), "bfd=KA") && strings.Contains(string(b), "state=Up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("BFD session with keepalived never came up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.Kill()
	ours.waitState("VI_1", "FAULT", 10*time.Second)
	waitAddr(t, a, "192.0.2.100", false, 5*time.Second)
}

// TestIntegrationPriorityChanges: with notify_priority_changes a priority
// change without a state change writes a FIFO line with the new priority.
func TestIntegrationPriorityChanges(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildDaemon(t)
	a, _ := testutil.NewPair(t)
	flag := filepath.Join(t.TempDir(), "ok")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ours := startDaemon(t, a, bin, fmt.Sprintf(`global_defs {
    notify_fifo NOTIFY_FIFO
}
vrrp_script chk {
    script "/usr/bin/test -e %s"
    interval 0.2
    weight -10
}
vrrp_instance VI_1 {
    interface eth0
    version 3
    virtual_router_id 51
    priority 100
    advert_int 0.1
    notify_priority_changes
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_script {
        chk
    }
}
`, flag))
	ours.waitState("VI_1", "MASTER", 15*time.Second)
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	s := ours.waitState("VI_1", "MASTER", 10*time.Second)
	if s.Priority != 90 {
		t.Errorf("priority line = %+v, want MASTER 90", s)
	}
}
