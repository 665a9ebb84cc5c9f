package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// The README program works as written: alone on its LAN it becomes MASTER
// and adds the address; SIGTERM makes it say goodbye, remove the address
// and exit 0.
func TestIntegrationEmbed(t *testing.T) {
	testutil.RequireRoot(t)
	goBin := testutil.RequireCommand(t, "go")
	bin := filepath.Join(t.TempDir(), "embed")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	a, _ := testutil.NewPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := a.Command(ctx, bin)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		for s := bufio.NewScanner(stderr); s.Scan(); {
			lines <- s.Text()
		}
	}()
	var log []string
	// waitLine waits for a line containing s; the bound is far above the
	// protocol's (Master_Down_Interval 0.35s) for a loaded CI machine.
	waitLine := func(s string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("embed exited before %q; output:\n%s", s, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if strings.Contains(l, s) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q within 20s; output:\n%s", s, strings.Join(log, "\n"))
			}
		}
	}
	hasVIP := func() bool {
		return strings.Contains(a.Run(t, "ip", "-o", "addr", "show", "dev", "eth0"), "192.0.2.100/24")
	}
	waitLine("BACKUP -> MASTER")
	// Bounded poll: the address is added just after the transition is logged.
	for deadline := time.Now().Add(10 * time.Second); !hasVIP() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !hasVIP() {
		t.Fatal("MASTER without 192.0.2.100/24 on eth0")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLine("MASTER -> STOP")
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("embed after SIGTERM: %v; output:\n%s", err, strings.Join(log, "\n"))
	}
	if hasVIP() {
		t.Error("192.0.2.100/24 still on eth0 after exit")
	}
}
