package ipvsmoby_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/internal/vm"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/internal/conformance"
)

// TestMain runs the tests (in the VM: as its init) and fails the run on
// leaked goroutines.
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

// openKernel empties the VM's IPVS table, and empties it again after the
// test. It refuses to run outside the VM: these tests change the whole
// table, which on a host would be someone else's.
func openKernel(t testing.TB) {
	t.Helper()
	testutil.RequireIPVS(t)
	if !vm.InGuest() {
		testutil.Skip(t, "TestKernel* change the whole IPVS table: they run only inside the VM (go test -exec bin/vmexec)")
	}
	flush := func() {
		if out, err := exec.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
			t.Errorf("ipvsadm -C: %v\n%s", err, out)
		}
	}
	flush()
	t.Cleanup(flush)
}

func flushIPVS(b *testing.B) {
	b.Helper()
	if out, err := exec.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
		b.Fatalf("ipvsadm -C: %v\n%s", err, out)
	}
}

var spaces = regexp.MustCompile(`[ \t]+`)

// listing returns ipvsadm -Ln with runs of blanks squeezed to one space.
func listing(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("ipvsadm", "-Ln").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	return spaces.ReplaceAllString(string(out), " ")
}

func wantLines(t testing.TB, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
}

// converged checks that the kernel reads back as desired: a plan from the
// kernel's state to desired is empty.
func converged(t testing.TB, k ipvs.Kernel, desired ipvs.State) {
	t.Helper()
	st, err := k.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if ops := ipvs.Plan(st, desired, ipvs.Owned{}, ipvs.PlanOptions{}); len(ops) != 0 {
		t.Errorf("kernel differs from desired; still to do: %v", ops)
	}
}

func apply(t testing.TB, m *ipvs.Manager, desired ipvs.State) ipvs.Changes {
	t.Helper()
	ch, err := m.Apply(context.Background(), desired)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return ch
}

// benchState: see conformance.BenchState.
var benchState = conformance.BenchState

// sizes of the benchmarks; see package ipvs's bench_vm_test.go for why the
// large one runs one per VM boot with -benchtime 1x.
var sizes = []struct{ svcs, dsts int }{{200, 2}, {10000, 5}}

// eachSize runs fn as one sub-benchmark per size.
func eachSize(b *testing.B, fn func(b *testing.B, svcs, dsts int)) {
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("%dx%d", sz.svcs, sz.dsts), func(b *testing.B) { fn(b, sz.svcs, sz.dsts) })
	}
}
