package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

const (
	// nsPrefix starts the name of every namespace the helpers create.
	nsPrefix = "kgo-"
	// cmdTimeout bounds every helper command (ip, nft, sysctl, tshark -r).
	cmdTimeout = 60 * time.Second
	// killWait bounds how long cleanup waits for a killed process to exit.
	killWait = 5 * time.Second
)

// NetNS is a named network namespace created by [NewNetNS]. It is removed in
// t.Cleanup.
type NetNS struct {
	// Name is the namespace name as shown by "ip netns list" ("kgo-…").
	Name string

	t  testing.TB
	mu sync.Mutex
	// procs are the processes started from [NetNS.Command] (recorded by
	// *exec.Cmd, killed by PID in cleanup if still running).
	procs []*exec.Cmd
	// pids are extra processes (daemon children) registered with trackPID.
	pids []int
	seq  int
}

// NewNetNS creates a fresh named network namespace with lo up. Cleanup kills
// the processes the test started in it (by the PIDs recorded when they were
// started) and deletes the namespace. It calls [RequireRoot] first.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	RequireRoot(t)
	RequireCommand(t, "ip")
	var name string
	var lastErr error
	for range 5 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatalf("testutil: random namespace name: %v", err)
		}
		name = nsPrefix + hex.EncodeToString(b[:])
		if _, lastErr = runCmd(context.Background(), "ip", "netns", "add", name); lastErr == nil {
			break
		}
		name = ""
	}
	if name == "" {
		t.Fatalf("testutil: ip netns add: %v", lastErr)
	}
	ns := &NetNS{Name: name, t: t}
	t.Cleanup(ns.cleanup)
	// New interfaces (veth ends, VMACs made by peers) skip duplicate address
	// detection, so IPv6 addresses are usable at once.
	ns.sysctl(t, "net.ipv6.conf.default.accept_dad", "0")
	ns.sysctl(t, "net.ipv6.conf.all.accept_dad", "0")
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

// Path returns the namespace's bind-mount path, /run/netns/<name>.
func (ns *NetNS) Path() string { return filepath.Join("/run/netns", ns.Name) }

// String returns the namespace name.
func (ns *NetNS) String() string { return ns.Name }

// ip runs "ip -n <ns> args..." and fails the test on error.
func (ns *NetNS) ip(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runCmd(context.Background(), "ip", append([]string{"-n", ns.Name}, args...)...)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	return out
}

// sysctl writes /proc/sys/<key with dots as slashes> inside the namespace.
func (ns *NetNS) sysctl(t testing.TB, key, value string) {
	t.Helper()
	p := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	err := ns.Do(func() error { return os.WriteFile(p, []byte(value), 0o644) })
	if err != nil {
		t.Fatalf("testutil: sysctl %s=%s in %s: %v", key, value, ns.Name, err)
	}
}

// Do runs fn on a new goroutine locked to its OS thread, with that thread
// switched into the namespace, and returns fn's error. The calling
// goroutine's thread never changes namespace. Sockets and netlink handles
// opened inside fn stay bound to the namespace and may be used anywhere
// afterwards. If the thread cannot be switched back, it is left locked so the
// Go runtime terminates it instead of reusing it in the wrong namespace. A
// panic in fn is returned as an error. fn must not call t.FailNow (it runs on
// another goroutine).
func (ns *NetNS) Do(fn func() error) error {
	target, err := netns.GetFromPath(ns.Path())
	if err != nil {
		return fmt.Errorf("testutil: open namespace %s: %w", ns.Name, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("testutil: current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			// setns failed: the thread is still in its own namespace, but stay
			// locked to be safe; the runtime discards the thread.
			errc <- fmt.Errorf("testutil: enter namespace %s: %w", ns.Name, err)
			return
		}
		var ferr error
		returned := false
		defer func() {
			if r := recover(); r != nil {
				ferr = fmt.Errorf("testutil: panic in NetNS.Do: %v\n%s", r, debug.Stack())
			} else if !returned {
				ferr = errors.New("testutil: NetNS.Do function called runtime.Goexit (t.FailNow off the test goroutine?)")
			}
			if err := netns.Set(orig); err != nil {
				// Leave the thread locked: it exits with this goroutine.
				errc <- errors.Join(ferr, fmt.Errorf("testutil: restore namespace: %w", err))
				return
			}
			runtime.UnlockOSThread()
			errc <- ferr
		}()
		ferr = fn()
		returned = true
	}()
	return <-errc
}

// Command returns an unstarted command that runs name with args inside the
// namespace (via "ip netns exec", which also gives it a /sys of the
// namespace). The namespace's cleanup kills it by PID if it is still running;
// the caller should still Wait for it.
func (ns *NetNS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.WaitDelay = killWait
	ns.mu.Lock()
	ns.procs = append(ns.procs, cmd)
	ns.mu.Unlock()
	return cmd
}

// Run runs name with args inside the namespace, waits (at most a minute) and
// returns its combined output. It fails the test if the command fails.
func (ns *NetNS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := ns.Command(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testutil: in %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Handle returns a netlink handle bound to the namespace, closed in cleanup.
func (ns *NetNS) Handle(t testing.TB) *netlink.Handle {
	t.Helper()
	h, err := ns.handle()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func (ns *NetNS) handle() (*netlink.Handle, error) {
	target, err := netns.GetFromPath(ns.Path())
	if err != nil {
		return nil, fmt.Errorf("testutil: open namespace %s: %w", ns.Name, err)
	}
	defer target.Close()
	h, err := netlink.NewHandleAt(target)
	if err != nil {
		return nil, fmt.Errorf("testutil: netlink handle in %s: %w", ns.Name, err)
	}
	return h, nil
}

// trackPID records a process (for example a daemon's child) that cleanup
// must kill if it is still running.
func (ns *NetNS) trackPID(pid int) {
	if pid <= 0 {
		return
	}
	ns.mu.Lock()
	ns.pids = append(ns.pids, pid)
	ns.mu.Unlock()
}

// next returns a per-namespace sequence number for unique names.
func (ns *NetNS) next() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.seq++
	return ns.seq
}

func (ns *NetNS) cleanup() {
	ns.mu.Lock()
	procs, pids := ns.procs, ns.pids
	ns.procs, ns.pids = nil, nil
	ns.mu.Unlock()
	for _, cmd := range procs {
		if cmd.Process == nil {
			continue
		}
		// os.Process.Kill is a no-op (ErrProcessDone) once the process has
		// been waited for, and uses a pidfd on Linux, so it cannot hit a
		// recycled PID.
		if err := cmd.Process.Kill(); err == nil {
			pids = append(pids, cmd.Process.Pid)
		}
	}
	for _, pid := range pids {
		if alive(pid) && inNamespace(pid, ns.Path()) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// Backstop: anything still running inside our namespace was started by
	// this test (the namespace name is random); kill it by PID and say so.
	if out, err := runCmd(context.Background(), "ip", "netns", "pids", ns.Name); err == nil {
		for _, f := range strings.Fields(out) {
			pid, err := strconv.Atoi(f)
			if err != nil || !alive(pid) {
				continue
			}
			ns.t.Logf("testutil: killing leftover process %d (%s) in %s", pid, procName(pid), ns.Name)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			pids = append(pids, pid)
		}
	}
	deadline := time.Now().Add(killWait)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := runCmd(context.Background(), "ip", "netns", "del", ns.Name); err != nil {
		ns.t.Errorf("testutil: %v", err)
	}
}

// alive reports whether pid exists and is not a zombie (state Z or X in
// /proc/PID/stat). Killed daemon children are reparented and can stay
// zombies until PID 1 reaps them; they no longer hold the namespace.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Format: pid (comm) state ...; comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	switch b[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}

// procName returns the command name of pid, for log messages.
func procName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// inNamespace reports whether pid's network namespace is the one bind-mounted
// at path (same device and inode).
func inNamespace(pid int, path string) bool {
	var a, b syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &a); err != nil {
		return false
	}
	if err := syscall.Stat(path, &b); err != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// runCmd runs a host command with a bounded time and returns its combined
// output; the error includes the command line and the output.
func runCmd(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = killWait
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}
