package vrrp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vrrp"
)

// frr is FRR's zebra + vrrpd in a namespace (LAB.md §2+): vrrpd needs
// zebra, and a macvlan holding the virtual MAC and address made by hand.
type frr struct {
	t     *testing.T
	ns    *testutil.NetNS
	dir   string
	procs []*exec.Cmd
}

const frrDir = "/usr/lib/frr"

func startFRRVRRP(t *testing.T, ns *testutil.NetNS, vrid, prio int, advert time.Duration, vip string) *frr {
	t.Helper()
	testutil.RequireCommand(t, "vtysh")
	for _, d := range []string{"zebra", "vrrpd"} {
		if _, err := os.Stat(filepath.Join(frrDir, d)); err != nil {
			testutil.Skip(t, "FRR %s not installed (%v); make deps installs frr", d, err)
		}
	}
	dir, err := os.MkdirTemp("", "kgo-vrrpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	f := &frr{t: t, ns: ns, dir: dir}
	mv := fmt.Sprintf("vrrp4-%d", vrid)
	ns.Run(t, "ip", "link", "add", mv, "link", "eth0", "type", "macvlan", "mode", "bridge")
	ns.Run(t, "ip", "link", "set", mv, "address", fmt.Sprintf("00:00:5e:00:01:%02x", vrid))
	ns.Run(t, "ip", "addr", "add", vip, "dev", mv)
	ns.Run(t, "ip", "link", "set", mv, "up")
	conf := fmt.Sprintf("interface eth0\n vrrp %d version 3\n vrrp %d priority %d\n vrrp %d advertisement-interval %d\n vrrp %d ip %s\n!\n",
		vrid, vrid, prio, vrid, advert.Milliseconds(), vrid, strings.Split(vip, "/")[0])
	for _, d := range []string{"zebra", "vrrpd"} {
		cfg := filepath.Join(dir, d+".conf")
		c := ""
		if d == "vrrpd" {
			c = conf
		}
		if err := os.WriteFile(cfg, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, d+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := ns.Command(context.Background(), filepath.Join(frrDir, d), "-f", cfg, "-i", filepath.Join(dir, d+".pid"),
			"--vty_socket", dir, "-P", "0", "-z", filepath.Join(dir, "zserv.api"), "--log", "stdout")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		logf.Close()
		f.procs = append(f.procs, cmd)
		if d == "zebra" {
			for i := 0; i < 100; i++ {
				if _, err := os.Stat(filepath.Join(dir, "zserv.api")); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	t.Cleanup(func() {
		f.Kill()
		if t.Failed() {
			for _, d := range []string{"zebra", "vrrpd"} {
				b, _ := os.ReadFile(filepath.Join(dir, d+".log"))
				t.Logf("--- %s log:\n%s", d, b)
			}
		}
	})
	return f
}

// Kill stops vrrpd and zebra with SIGKILL (vrrpd first).
func (f *frr) Kill() {
	for i := len(f.procs) - 1; i >= 0; i-- {
		c := f.procs[i]
		if c.ProcessState == nil {
			_ = c.Process.Signal(syscall.SIGKILL)
			_ = c.Wait()
		}
	}
}

// KillVRRPD kills only vrrpd.
func (f *frr) KillVRRPD() {
	c := f.procs[len(f.procs)-1]
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
}

// state returns vrrpd's IPv4 state for vrid ("Master", "Backup", ...).
func (f *frr) state(vrid int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "vtysh", "--vty_socket", f.dir, "-d", "vrrpd", "-c", "show vrrp json").Output()
	if err != nil {
		return ""
	}
	var rows []struct {
		VRID int `json:"vrid"`
		V4   struct {
			Status string `json:"status"`
		} `json:"v4"`
	}
	if json.Unmarshal(out, &rows) != nil {
		return ""
	}
	for _, r := range rows {
		if r.VRID == vrid {
			return r.V4.Status
		}
	}
	return ""
}

func (f *frr) waitState(vrid int, want string, timeout time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if got = f.state(vrid); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("FRR vrrpd vrid %d state %q, want %q after %v", vrid, got, want, timeout)
}

// TestInteropFRR: our instance against FRR vrrpd (VRRPv3, IPv4, advert
// 1 s: see v3robust) in both directions, with kill -9 takeover.
func TestInteropFRR(t *testing.T) {
	requireInterop(t)
	f := v3robust
	t.Run("we win", func(t *testing.T) {
		t.Parallel()
		a, b := testutil.NewPair(t)
		capt := testutil.StartCapture(t, b, "eth0", filterOf(f))
		fr := startFRRVRRP(t, b, 51, 100, f.advert, f.vip.String())
		g := startGo(t, a, f.goOpts(150))
		g.waitState(vrrp.StateMaster, f.timeout())
		fr.waitState(51, "Backup", f.timeout())
		g.Kill()
		fr.waitState(51, "Master", f.timeout())
		checkCapture(t, capt)
	})
	t.Run("they win", func(t *testing.T) {
		t.Parallel()
		a, b := testutil.NewPair(t)
		capt := testutil.StartCapture(t, b, "eth0", filterOf(f))
		fr := startFRRVRRP(t, b, 51, 150, f.advert, f.vip.String())
		fr.waitState(51, "Master", f.timeout())
		g := startGo(t, a, f.goOpts(100))
		// Past our Master_Down_Interval we are still BACKUP.
		g.waitState(vrrp.StateBackup, f.timeout())
		g.noTransition(f.settle())
		fr.KillVRRPD()
		g.waitState(vrrp.StateMaster, f.timeout())
		wantHolder(t, f.vip, a, a)
		checkCapture(t, capt)
	})
}
