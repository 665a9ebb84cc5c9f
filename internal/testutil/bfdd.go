package testutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bfddPath is where Debian's frr package installs bfdd.
const bfddPath = frrDir + "/bfdd"

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

	t     testing.TB
	ns    *NetNS
	vtysh string
	d     *daemon
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
	dir := frrTempDir(t, "kgo-bfdd-")
	d := startFRR(t, ns, dir, "bfdd", conf, "--bfdctl", filepath.Join(dir, "bfdd.sock"))
	f := &BFDD{Dir: dir, Log: d.log, t: t, ns: ns, vtysh: vtysh, d: d}
	t.Cleanup(func() {
		f.Kill()
		if t.Failed() {
			t.Logf("bfdd in %s, config:\n%s\n--- log:\n%s", ns.Name, conf, d.logText())
		}
	})
	var err error
	if !waitFor(daemonStartTimeout, d.exited, func() bool { _, err = f.Peers(); return err == nil }) {
		select {
		case <-d.exited:
			t.Fatalf("testutil: bfdd in %s exited at start:\n%s", ns.Name, d.logText())
		default:
			t.Fatalf("testutil: bfdd in %s not answering after %v: %v\n%s", ns.Name, daemonStartTimeout, err, d.logText())
		}
	}
	return f
}

// Peers returns bfdd's sessions ("vtysh --vty_socket DIR -d bfdd -c 'show
// bfd peers json'").
func (f *BFDD) Peers() ([]BFDPeer, error) {
	return vtyshJSON[[]BFDPeer](f.vtysh, f.Dir, "bfdd", "show bfd peers json")
}

// Vtysh runs one vtysh command against this bfdd and returns its output.
func (f *BFDD) Vtysh(command string) (string, error) {
	return vtysh(f.vtysh, f.Dir, "bfdd", command)
}

// WaitPeer polls [BFDD.Peers] until the session with the given peer address
// has the given status ("up", "down"), and fails the test after timeout.
func (f *BFDD) WaitPeer(t testing.TB, peer, status string, timeout time.Duration) BFDPeer {
	t.Helper()
	var last []BFDPeer
	var lastErr error
	var found BFDPeer
	if waitFor(timeout, nil, func() bool {
		last, lastErr = f.Peers()
		for _, p := range last {
			if p.Peer == peer && p.Status == status {
				found = p
				return true
			}
		}
		return false
	}) {
		return found
	}
	t.Fatalf("testutil: bfdd in %s: peer %s not %s within %v; last: %+v (err %v)\n%s",
		f.ns.Name, peer, status, timeout, last, lastErr, f.d.logText())
	return BFDPeer{}
}

// Kill SIGKILLs bfdd and waits until it has exited. It is a no-op the second
// time.
func (f *BFDD) Kill() { f.d.kill(f.t, f.ns) }
