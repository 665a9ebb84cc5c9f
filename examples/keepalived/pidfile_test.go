package main

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readFile returns the content of path, or "<absent>".
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPidFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.pid")
	first, err := lockPidFile(path, 1111)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "1111\n" {
		t.Fatalf("pid file = %q, want 1111", got)
	}
	// a second daemon: refused, with the holder's pid, file untouched
	second, err := lockPidFile(path, 2222)
	var running *runningError
	if !errors.As(err, &running) || !errors.Is(err, errAlreadyRunning) || second != nil {
		t.Fatalf("second lock: %v, %v; want a *runningError", second, err)
	}
	if d := cmp.Diff(&runningError{Path: path, PID: 1111}, running); d != "" {
		t.Errorf("runningError (-want +got):\n%s", d)
	}
	if want := "daemon is already running (pid 1111, pid file " + path + ")"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if got := readFile(t, path); got != "1111\n" {
		t.Errorf("pid file after a refused lock = %q, want 1111", got)
	}
	// the first one removes its file on exit; then the next daemon starts
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "<absent>" {
		t.Errorf("pid file after Close = %q, want it removed", got)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	third, err := lockPidFile(path, 3333)
	if err != nil {
		t.Fatalf("lock after the first daemon stopped: %v", err)
	}
	defer third.Close()
	if got := readFile(t, path); got != "3333\n" {
		t.Errorf("pid file = %q, want 3333", got)
	}
}

// TestPidFileNotOurs: Close never removes a file this process did not
// write, and a stale file (a daemon killed with SIGKILL: content, no lock)
// is taken over.
func TestPidFileNotOurs(t *testing.T) {
	tests := []struct {
		name   string
		stale  string                          // content before lockPidFile, if any
		change func(t *testing.T, path string) // what happens while we run
		want   string                          // the file after Close
	}{
		{"ours", "", func(*testing.T, string) {}, "<absent>"},
		{"stale file taken over", "999999\n", func(*testing.T, string) {}, "<absent>"},
		{"rewritten by someone else", "", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("4444\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "4444\n"},
		{"replaced by another file", "", func(t *testing.T, path string) {
			tmp := path + ".new"
			if err := os.WriteFile(tmp, []byte("1234\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "1234\n"},
		{"removed", "", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "<absent>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keepalived.pid")
			if tt.stale != "" {
				if err := os.WriteFile(path, []byte(tt.stale), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := lockPidFile(path, 1111)
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != "1111\n" {
				t.Errorf("pid file = %q, want 1111 (a stale content is replaced whole)", got)
			}
			tt.change(t, path)
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("after Close: %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPidFileErrors(t *testing.T) {
	p, err := lockPidFile("", 1)
	if p != nil || err != nil {
		t.Errorf("empty path: %v, %v; want no pid file and no error", p, err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close of no pid file: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "k.pid")
	_, err = lockPidFile(missing, 1)
	if err == nil || errors.Is(err, errAlreadyRunning) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: %v; want a wrapped ErrNotExist", err)
	}
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	if code := pidFileRefused(logger, err); code != 1 {
		t.Errorf("exit status %d for an unwritable pid file, want 1", code)
	}
	if code := pidFileRefused(logger, &runningError{Path: "/run/k.pid", PID: 7}); code != exitAlreadyRunning {
		t.Errorf("exit status %d when already running, want %d", code, exitAlreadyRunning)
	}
	if !strings.Contains(log.String(), `msg="daemon is already running" pid=7 pid_file=/run/k.pid`) {
		t.Errorf("log lacks the refusal with the pid:\n%s", &log)
	}
}

// TestSecondDaemonRefused runs the daemon's start-up (run) while another
// process holds the pid file: it exits with exitAlreadyRunning and a clear
// message before touching anything, even when it would have failed later
// (metrics address in use), and the holder's file is untouched. Without a
// holder, a daemon that fails at start-up removes the file it wrote.
func TestSecondDaemonRefused(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte("global_defs {\n    router_id A\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	pid := filepath.Join(dir, "keepalived.pid")
	args := []string{"-n", "-l", "-f", conf, "-p", pid, "--dump-dir", dir, "--metrics-addr", busy.Addr().String(), "--iface-poll", "0"}

	holder, err := lockPidFile(pid, 4242)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != exitAlreadyRunning {
		t.Errorf("exit status %d, want %d\n%s", code, exitAlreadyRunning, &stderr)
	}
	if !strings.Contains(stderr.String(), `msg="daemon is already running" pid=4242`) {
		t.Errorf("no clear refusal with the holder's pid:\n%s", &stderr)
	}
	if strings.Contains(stderr.String(), "metrics") {
		t.Errorf("the refused daemon went on to start its metrics:\n%s", &stderr)
	}
	if got := readFile(t, pid); got != "4242\n" {
		t.Errorf("holder's pid file = %q after a refused start, want 4242", got)
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}

	stderr.Reset()
	if code := run(args, &stdout, &stderr); code != 1 {
		t.Errorf("exit status %d with the metrics address in use, want 1\n%s", code, &stderr)
	}
	if got := readFile(t, pid); got != "<absent>" {
		t.Errorf("pid file = %q after a failed start-up, want it removed", got)
	}
}
