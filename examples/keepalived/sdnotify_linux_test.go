package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestIntegrationSystemdNotify runs the daemon as systemd's Type=notify
// would, with a real NOTIFY_SOCKET, and checks what it says across start,
// a good reload, a refused reload and stop.
func TestIntegrationSystemdNotify(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildDaemon(t)
	ns := testutil.NewNetNS(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 16)
	go func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()

	conf := filepath.Join(dir, "keepalived.conf")
	good := "global_defs {\n    router_id T1\n}\n"
	if err := os.WriteFile(conf, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := ns.Command(context.Background(), bin, "-n", "-l", "-f", conf, "--dump-dir", dir,
		"-p", filepath.Join(dir, "keepalived.pid"))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("daemon log:\n%s", b)
		}
	})
	pid := strconv.Itoa(cmd.Process.Pid)

	// next waits for one message; the bound only ends a stuck test.
	next := func(step string) map[string]string {
		t.Helper()
		select {
		case m := <-msgs:
			fields := map[string]string{}
			for _, line := range strings.Split(m, "\n") {
				k, v, _ := strings.Cut(line, "=")
				fields[k] = v
			}
			return fields
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no notify message in 30 s", step)
			return nil
		}
	}
	signal := func(s syscall.Signal) {
		t.Helper()
		if err := cmd.Process.Signal(s); err != nil {
			t.Fatal(err)
		}
	}

	m := next("start")
	if m["READY"] != "1" || m["MAINPID"] != pid || !strings.HasPrefix(m["STATUS"], "running ") {
		t.Errorf("start: got %q, want READY=1, MAINPID=%s and a running STATUS", m, pid)
	}

	checkReload := func(step, wantStatus string) {
		t.Helper()
		before := monotonic()
		signal(syscall.SIGHUP)
		m := next(step)
		usec, err := strconv.ParseInt(m["MONOTONIC_USEC"], 10, 64)
		// MONOTONIC_USEC is when the daemon began the reload: after the
		// signal was sent, and by the same clock as ours.
		if m["RELOADING"] != "1" || err != nil || time.Duration(usec)*time.Microsecond < before.Truncate(time.Microsecond) {
			t.Errorf("%s: got %q, want RELOADING=1 with MONOTONIC_USEC >= %d", step, m, before.Microseconds())
		}
		m = next(step + " done")
		if m["READY"] != "1" || !strings.HasPrefix(m["STATUS"], wantStatus) {
			t.Errorf("%s done: got %q, want READY=1 and STATUS %q...", step, m, wantStatus)
		}
	}
	checkReload("reload", "running ")
	if err := os.WriteFile(conf, []byte("global_defs {\n    router_id T1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkReload("refused reload", "reload refused")

	signal(syscall.SIGTERM)
	if m := next("stop"); m["STOPPING"] != "1" {
		t.Errorf("stop: got %q, want STOPPING=1", m)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("daemon exit: %v", waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not exit 30 s after SIGTERM")
	}
	select {
	case m, ok := <-msgs:
		if ok {
			t.Errorf("message after stop: %q", m)
		}
	default:
	}
}
