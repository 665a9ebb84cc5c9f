package vm_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/vm"
)

// A package with kernel tests calls Main from TestMain: on the host it runs
// the tests as usual, in the VM it is the init.
func ExampleMain() {
	_ = func(m *testing.M) { vm.Main(m) } // func TestMain(m *testing.M) { vm.Main(m) }
}

// RunTest is what vmexec does: boot one static test binary and get its exit
// code.
func ExampleRunTest() {
	run := func(ctx context.Context, binary string) (int, error) {
		res, err := vm.RunTest(ctx, vm.Options{
			Binary:  binary, // CGO_ENABLED=0 go test -c -o pkg.test ./pkg
			Args:    []string{"-test.run=^TestKernel", "-test.v"},
			Timeout: 5 * time.Minute,
			Output:  os.Stdout,
		})
		if err != nil {
			return res.ExitCode, err
		}
		fmt.Printf("boot took %s\n", res.Boot)
		return res.ExitCode, nil
	}
	_ = run
}
