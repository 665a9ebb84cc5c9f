//go:build unix

package check

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestFileNamedPipe(t *testing.T) {
	// A pipe without a writer would block open(2) forever: it is refused at
	// once instead.
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- (File{Path: p}).Check(context.Background()) }()
	select {
	case err := <-done:
		checkResult(t, err, ReasonFile, nil)
	case <-time.After(10 * time.Second):
		t.Fatal("Check blocked on a named pipe")
	}
}
