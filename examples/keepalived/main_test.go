package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/nux-root/keepalived-go/internal/vm"
)

// TestMain runs the tests (in the kernel VM: as its init) and fails the
// run on leaked goroutines.
func TestMain(m *testing.M) {
	os.Exit(vm.MainFunc(func() int {
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goroutine leak:", err)
				return 1
			}
		}
		return code
	}))
}
