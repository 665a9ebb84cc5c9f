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

// frrDir is where Debian's frr package installs its daemons.
const frrDir = "/usr/lib/frr"

// daemon is one FRR process started by [startFRR].
type daemon struct {
	name   string
	log    string
	proc   *os.Process
	exited chan struct{}
	once   sync.Once
}

// frrTempDir creates a private directory for FRR daemons, removed in
// cleanup. FRR drops privileges to user frr: the directory must be reachable
// and writable by it, which t.TempDir() (0700) is not.
func frrTempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	return dir
}

// startFRR writes conf to dir/<name>.conf and runs FRR's daemon name inside
// ns with its pid file, vty socket and zserv path in dir and its output in
// dir/<name>.log; extra arguments are appended. The caller kills it.
func startFRR(t testing.TB, ns *NetNS, dir, name, conf string, extra ...string) *daemon {
	t.Helper()
	cfg := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	d := &daemon{name: name, log: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	defer logf.Close()
	args := append([]string{"-f", cfg, "-i", filepath.Join(dir, name+".pid"), "--vty_socket", dir, "-P", "0",
		"-z", filepath.Join(dir, "zserv.api"), "--log", "stdout"}, extra...)
	cmd := ns.Command(context.Background(), filepath.Join(frrDir, name), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("testutil: start FRR %s in %s: %v", name, ns.Name, err)
	}
	d.proc = cmd.Process
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	return d
}

// kill SIGKILLs the daemon and waits until it has exited. It is a no-op the
// second time.
func (d *daemon) kill(t testing.TB, ns *NetNS) {
	d.once.Do(func() {
		_ = d.proc.Signal(syscall.SIGKILL)
		select {
		case <-d.exited:
		case <-time.After(killWait):
			t.Errorf("testutil: FRR %s %d in %s still running after SIGKILL", d.name, d.proc.Pid, ns.Name)
		}
	})
}

// logText returns the daemon's log, or why it cannot be read.
func (d *daemon) logText() string { return logText(d.log) }

// vtysh runs one vtysh command (at vtyshPath) against FRR daemon name whose
// vty socket is in dir, and returns its output.
func vtysh(vtyshPath, dir, name, command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, vtyshPath, "--vty_socket", dir, "-d", name, "-c", command)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("testutil: vtysh -d %s -c %q: %w: %s", name, command, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// vtyshJSON runs a vtysh "show ... json" command against FRR daemon name
// (see [vtysh]) and decodes its output into a T.
func vtyshJSON[T any](vtyshPath, dir, name, command string) (T, error) {
	var v T
	out, err := vtysh(vtyshPath, dir, name, command)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return v, fmt.Errorf("testutil: %s: %w: %q", command, err, out)
	}
	return v, nil
}

// waitFor polls cond every 50 ms until it is true, exited is closed or
// timeout passes; it reports whether cond became true.
func waitFor(timeout time.Duration, exited <-chan struct{}, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		select {
		case <-exited:
			return false
		default:
		}
	}
	return false
}
