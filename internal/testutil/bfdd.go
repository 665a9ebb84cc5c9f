package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bfddPath is where Debian's frr package installs bfdd.
const bfddPath = "/usr/lib/frr/bfdd"

// BFDPeer is one session from FRR's "show bfd peers json".
type BFDPeer struct {
	Peer                   string `json:"peer"`
	Local                  string `json:"local"`
	Interface              string `json:"interface"`
	VRF                    string `json:"vrf"`
	Multihop               bool   `json:"multihop"`
	ID                     uint32 `json:"id"`
	RemoteID               uint32 `json:"remote-id"`
	Status                 string `json:"status"` // "up", "down", "init", "shutdown"
	Diagnostic             string `json:"diagnostic"`
	RemoteDiagnostic       string `json:"remote-diagnostic"`
	ReceiveInterval        int    `json:"receive-interval"`  // ms
	TransmitInterval       int    `json:"transmit-interval"` // ms
	DetectMultiplier       int    `json:"detect-multiplier"`
	RemoteReceiveInterval  int    `json:"remote-receive-interval"`
	RemoteTransmitInterval int    `json:"remote-transmit-interval"`
	RemoteDetectMultiplier int    `json:"remote-detect-multiplier"`
	Uptime                 int    `json:"uptime"`   // seconds
	Downtime               int    `json:"downtime"` // seconds
}

// BFDD is a standalone FRR bfdd (no zebra) running in a namespace, started by
// [StartBFDD].
type BFDD struct {
	// Dir is the private directory (mode 0777: bfdd runs as user frr)
	// holding the config, pid file, vty and control sockets and the log.
	Dir string
	// Log is the file receiving bfdd's output.
	Log string

	t      testing.TB
	ns     *NetNS
	vtysh  string
	proc   *os.Process
	exited chan struct{}
	once   sync.Once
}

// StartBFDD writes conf (FRR syntax, e.g. "bfd\n peer 192.0.2.2
// local-address 192.0.2.1\n  no shutdown\n !\n!") into a private directory
// and runs FRR's bfdd with it inside ns, with private pid file, vty socket,
// control socket and zserv path. It returns once bfdd answers on its vty
// socket. Cleanup kills it and removes the directory; if the test failed, its
// log is printed.
func StartBFDD(t testing.TB, ns *NetNS, conf string) *BFDD {
	t.Helper()
	if _, err := os.Stat(bfddPath); err != nil {
		Skip(t, "FRR bfdd not installed (%v); make deps installs frr", err)
		return nil
	}
	vtysh := RequireCommand(t, "vtysh")
	// bfdd drops privileges to user frr: the directory must be reachable
	// and writable by it, which t.TempDir() (0700) is not.
	dir, err := os.MkdirTemp("", "kgo-bfdd-")
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	f := &BFDD{Dir: dir, Log: filepath.Join(dir, "bfdd.log"), t: t, ns: ns, vtysh: vtysh, exited: make(chan struct{})}
	cfg := filepath.Join(dir, "bfdd.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	logf, err := os.Create(f.Log)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	cmd := ns.Command(context.Background(), bfddPath,
		"-f", cfg, "-i", filepath.Join(dir, "bfdd.pid"), "--vty_socket", dir, "-P", "0",
		"--bfdctl", filepath.Join(dir, "bfdd.sock"), "-z", filepath.Join(dir, "zserv.api"),
		"--log", "stdout")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("testutil: start bfdd in %s: %v", ns.Name, err)
	}
	logf.Close()
	f.proc = cmd.Process
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()
	t.Cleanup(func() {
		f.Kill()
		if t.Failed() {
			t.Logf("bfdd in %s, config:\n%s\n--- log:\n%s", ns.Name, conf, f.logText())
		}
	})
	deadline := time.Now().Add(daemonStartTimeout)
	for {
		_, err := f.Peers()
		if err == nil {
			break
		}
		select {
		case <-f.exited:
			t.Fatalf("testutil: bfdd in %s exited at start:\n%s", ns.Name, f.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: bfdd in %s not answering after %v: %v\n%s", ns.Name, daemonStartTimeout, err, f.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f
}

// Peers returns bfdd's sessions ("vtysh --vty_socket DIR -d bfdd -c 'show
// bfd peers json'").
func (f *BFDD) Peers() ([]BFDPeer, error) {
	out, err := f.Vtysh("show bfd peers json")
	if err != nil {
		return nil, err
	}
	var peers []BFDPeer
	if err := json.Unmarshal([]byte(out), &peers); err != nil {
		return nil, fmt.Errorf("testutil: show bfd peers json: %w: %q", err, out)
	}
	return peers, nil
}

// Vtysh runs one vtysh command against this bfdd and returns its output.
func (f *BFDD) Vtysh(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.vtysh, "--vty_socket", f.Dir, "-d", "bfdd", "-c", command)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("testutil: vtysh -c %q: %w: %s", command, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// WaitPeer polls [BFDD.Peers] until the session with the given peer address
// has the given status ("up", "down"), and fails the test after timeout.
func (f *BFDD) WaitPeer(t testing.TB, peer, status string, timeout time.Duration) BFDPeer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []BFDPeer
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = f.Peers()
		for _, p := range last {
			if p.Peer == peer && p.Status == status {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("testutil: bfdd in %s: peer %s not %s within %v; last: %+v (err %v)\n%s",
		f.ns.Name, peer, status, timeout, last, lastErr, f.logText())
	return BFDPeer{}
}

// Kill SIGKILLs bfdd and waits until it has exited. It is a no-op the second
// time.
func (f *BFDD) Kill() {
	f.once.Do(func() {
		_ = f.proc.Signal(syscall.SIGKILL)
		select {
		case <-f.exited:
		case <-time.After(killWait):
			f.t.Errorf("testutil: bfdd %d in %s still running after SIGKILL", f.proc.Pid, f.ns.Name)
		}
	})
}

func (f *BFDD) logText() string {
	b, err := os.ReadFile(f.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}
