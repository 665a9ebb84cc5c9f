package testutil

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// captureStartTimeout bounds how long StartCapture waits for the capture
// program to report that it is listening.
const captureStartTimeout = 15 * time.Second

// Capture is a packet capture running inside a namespace, started by
// [StartCapture].
type Capture struct {
	// Path is the pcap file, inside t.TempDir().
	Path string

	t      testing.TB
	ns     *NetNS
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	mu     sync.Mutex
	log    strings.Builder // the capture program's stderr
	once   sync.Once
}

// StartCapture starts capturing on iface inside ns into a pcap file in
// t.TempDir(), with an optional libpcap filter (for example "ip proto 112 or
// ip6 proto 112"). It returns once the capture is listening. It uses tcpdump
// (packet-buffered, immediate mode) if present, else tshark. Stop ends it;
// cleanup stops it too.
func StartCapture(t testing.TB, ns *NetNS, iface, filter string) *Capture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture-"+iface+".pcap")
	var name string
	var args []string
	var ready string
	if _, err := exec.LookPath("tcpdump"); err == nil {
		// -Z root: do not drop privileges, or tcpdump cannot write into the
		// test's private (0700) temporary directory.
		name, ready = "tcpdump", "listening on"
		args = []string{"-i", iface, "-n", "-U", "--immediate-mode", "-Z", "root", "-w", path}
		if filter != "" {
			args = append(args, filter)
		}
	} else {
		name, ready = RequireCommand(t, "tshark"), "Capturing on"
		args = []string{"-i", iface, "-n", "-w", path}
		if filter != "" {
			args = append(args, "-f", filter)
		}
	}
	c := &Capture{Path: path, t: t, ns: ns, exited: make(chan struct{})}
	c.cmd = ns.Command(context.Background(), name, args...)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("testutil: capture: %v", err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("testutil: start %s in %s: %v", name, ns.Name, err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			c.mu.Lock()
			c.log.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			if !seen && strings.Contains(sc.Text(), ready) {
				seen = true
				close(listening)
			}
		}
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() { c.Stop() })
	select {
	case <-listening:
	case <-c.exited:
		t.Fatalf("testutil: %s exited before listening on %s in %s:\n%s", name, iface, ns.Name, c.stderr())
	case <-time.After(captureStartTimeout):
		c.Stop()
		t.Fatalf("testutil: %s not listening on %s in %s after %v:\n%s", name, iface, ns.Name, captureStartTimeout, c.stderr())
	}
	return c
}

func (c *Capture) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// Stop ends the capture and returns the pcap path. It first waits until the
// file has stopped growing for 100 ms (at most 2 s), because packets still
// queued in the capture socket when it is interrupted are lost; then it sends
// SIGINT (SIGKILL after 10 s) and waits until the capture program has exited
// and so flushed the file. It may be called more than once.
func (c *Capture) Stop() string {
	c.once.Do(func() {
		settle(c.Path, 100*time.Millisecond, 2*time.Second)
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			c.t.Errorf("testutil: capture in %s did not stop on SIGINT; killed:\n%s", c.ns.Name, c.stderr())
		}
		if fi, err := os.Stat(c.Path); err != nil || fi.Size() < 24 {
			c.t.Errorf("testutil: capture file %s missing or truncated (%v):\n%s", c.Path, err, c.stderr())
		}
	})
	return c.Path
}

// settle waits until the size of the file at path has not changed for quiet,
// or until limit has passed.
func settle(path string, quiet, limit time.Duration) {
	var last int64 = -1
	stable := time.Now()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var size int64
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
		if size != last {
			last, stable = size, time.Now()
		} else if time.Since(stable) >= quiet {
			return
		}
	}
}

// ExpertInfo returns tshark's expert-info lines of severity warning or error
// for the pcap ("tshark -r pcap -q -z expert,warn"). A clean capture returns
// none.
func ExpertInfo(t testing.TB, pcap string) []string {
	t.Helper()
	tshark := RequireCommand(t, "tshark")
	out := tsharkRun(t, tshark, "-r", pcap, "-q", "-z", "expert,warn")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		// Entry lines start with a frequency count: "   1  Malformed  VRRP  ...".
		if len(f) >= 2 && isDigits(f[0]) {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// TsharkFields returns, for every packet in the pcap, the values of the given
// tshark fields (for example "vrrp.version", "vrrp.prio"). Several
// occurrences of one field in a packet are joined with commas.
func TsharkFields(t testing.TB, pcap string, fields ...string) [][]string {
	t.Helper()
	tshark := RequireCommand(t, "tshark")
	args := []string{"-r", pcap, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := tsharkRun(t, tshark, args...)
	if out == "" {
		return nil
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rows = append(rows, strings.Split(l, "\t"))
	}
	return rows
}

// tsharkRun runs tshark and returns its stdout; stderr (which holds the
// "running as root" warning) is only shown on failure.
func tsharkRun(t testing.TB, tshark string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tshark, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testutil: tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
