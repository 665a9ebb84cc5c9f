package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// VerifyNoLeaks is a TestMain body: it runs the tests and then fails the
// package (exit status 1) if goroutines started during the tests are still
// running (goleak) or if file descriptors opened during the tests are still
// open (Linux, /proc/self/fd). Leftovers get a few seconds to finish first.
//
//	func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
func VerifyNoLeaks(m *testing.M, opts ...goleak.Option) {
	before := openFDs()
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "testutil: goroutines leaked by the tests: %v\n", err)
			code = 1
		}
	}
	if code == 0 {
		var leaked []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			leaked = leakedFDs(before, openFDs())
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "testutil: file descriptors leaked by the tests:\n\t%s\n", strings.Join(leaked, "\n\t"))
			code = 1
		}
	}
	os.Exit(code)
}

// openFDs maps this process's open file descriptors to what they refer to
// (nil where /proc/self/fd does not exist).
func openFDs() map[string]string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the directory's own descriptor, closed meanwhile
		}
		fds[e.Name()] = target
	}
	return fds
}

// leakedFDs lists descriptors open now but not before, ignoring those the Go
// runtime opens lazily and keeps (its poller).
func leakedFDs(before, after map[string]string) []string {
	if before == nil || after == nil {
		return nil
	}
	var leaked []string
	for fd, target := range after {
		if before[fd] == target {
			continue
		}
		switch target {
		case "anon_inode:[eventpoll]", "anon_inode:[eventfd]":
			continue
		}
		leaked = append(leaked, fd+" -> "+target)
	}
	slices.Sort(leaked)
	return leaked
}
