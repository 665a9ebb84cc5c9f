package main

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRealSystemProbes runs the real seam's unprivileged probes: link
// state and address of lo, the process table, the script runner.
func TestRealSystemProbes(t *testing.T) {
	sys := realSystem("")
	if !sys.linkUp("lo") {
		t.Error("lo is not up")
	}
	if sys.linkUp("kgo-no-such-if") {
		t.Error("a missing interface is up")
	}
	if got := sys.primaryIPv4("lo"); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("primaryIPv4(lo) = %v, want 127.0.0.1", got)
	}
	if got := sys.primaryIPv4("kgo-no-such-if"); got.IsValid() {
		t.Errorf("primaryIPv4 of a missing interface = %v", got)
	}
	self, _ := os.ReadFile("/proc/self/comm")
	found := false
	for _, p := range sys.processes() {
		if p.comm == strings.TrimSpace(string(self)) && len(p.argv) > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("the process table lacks this test (%q)", self)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	wait, err := sys.startScript(ctx, scriptCmd{Args: []string{"/bin/sh", "-c", "echo \"$0 $PWD\" > " + out, "arg0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "arg0 /\n" {
		t.Errorf("script wrote %q, want its argument and / as working directory", b)
	}
	wait, err = sys.startScript(ctx, scriptCmd{Args: []string{"/bin/sh", "-c", "exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err == nil {
		t.Error("a failing script reported success")
	}
	if _, err := sys.startScript(ctx, scriptCmd{Args: []string{"/kgo/no/such/script"}}); err == nil {
		t.Error("a missing script started")
	}
	if now := sys.clock.Now(); now.IsZero() {
		t.Error("zero time")
	}
}

// TestRun covers the command line: version, help, bad flags and
// arguments, a missing configuration.
func TestRun(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-v"}, 0, "keepalived-go"},
		{[]string{"-h"}, 0, ""},
		{[]string{"--no-such-flag"}, 2, ""},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"-f", "/kgo/no/such.conf", "-n"}, 1, ""},
	}
	for _, tt := range tests {
		var out, errb strings.Builder
		if got := run(tt.args, &out, &errb); got != tt.code {
			t.Errorf("run(%q) = %d, want %d (stderr %q)", tt.args, got, tt.code, errb.String())
		}
		if !strings.Contains(out.String()+errb.String(), tt.out) {
			t.Errorf("run(%q) printed %q, want %q", tt.args, out.String()+errb.String(), tt.out)
		}
	}
}

// TestNotifierFifo: the notifier creates the named pipe if missing,
// writes lines to it and closes it when the configuration drops it; a
// script whose user does not exist is not run.
func TestNotifierFifo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	f := newFakeSys()
	var scripts sync.WaitGroup
	n := &notifier{log: slog.New(slog.DiscardHandler), sys: f.system(), timeout: time.Second, scripts: &scripts}
	c := parse(t, "global_defs {\n    notify_fifo "+path+"\n}\n")
	n.configure(c)
	if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("notify_fifo not created as a pipe: %v %v", fi, err)
	}
	r, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n.line(fifoLine("INSTANCE", "VI_1", "MASTER", 100))
	buf := make([]byte, 64)
	k, err := r.Read(buf)
	if err != nil || string(buf[:k]) != "INSTANCE \"VI_1\" MASTER 100\n" {
		t.Errorf("read %q, %v", buf[:k], err)
	}
	n.configure(parse(t, ""))
	if n.fifo != nil {
		t.Error("FIFO kept open after the configuration dropped it")
	}
	c = parse(t, "global_defs {\n    script_user kgo-no-such-user\n}\n")
	n.configure(c)
	n.run(c.Global.NotifyFifo, []string{"x"}, "test") // no script: nothing
	s := parse(t, "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n notify /bin/n\n}\n")
	n.run(s.Instances[0].Notify, nil, "notify")
	scripts.Wait()
	if got := f.takeScripts(); len(got) != 0 {
		t.Errorf("scripts run as a missing user: %q", got)
	}
}
