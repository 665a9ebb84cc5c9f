package ipvs_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/internal/conformance"
)

// benchState: see conformance.BenchState.
var benchState = conformance.BenchState

// restoreText is the same state as ipvsadm -R input.
func restoreText(st ipvs.State) string {
	var b strings.Builder
	for _, op := range ipvs.Plan(ipvs.State{}, st, ipvs.Owned{}, ipvs.PlanOptions{}) {
		b.WriteString(op.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func flushIPVS(b *testing.B) {
	b.Helper()
	if out, err := exec.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
		b.Fatalf("ipvsadm -C: %v\n%s", err, out)
	}
}

// sizes of the benchmarks. Run the 10000x5 ones one per VM boot with
// -benchtime 1x: deleted real servers linger in the kernel's dest trash,
// which every later real-server add scans, so a second iteration (or a
// benchmark after another one's flush) measures that, not the tool.
var sizes = []struct{ svcs, dsts int }{{200, 2}, {10000, 5}}

// eachSize runs fn as one sub-benchmark per size.
func eachSize(b *testing.B, fn func(b *testing.B, svcs, dsts int)) {
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("%dx%d", sz.svcs, sz.dsts), func(b *testing.B) { fn(b, sz.svcs, sz.dsts) })
	}
}

// applyOps applies desired through m and returns how many operations it
// issued.
func applyOps(b *testing.B, m *ipvs.Manager, desired ipvs.State) int {
	ch, err := m.Apply(context.Background(), desired)
	if err != nil {
		b.Fatal(err)
	}
	return len(ch.Ops)
}

// applied opens the kernel and returns a manager that has applied
// benchState(svcs, dsts), and that state.
func applied(b *testing.B, svcs, dsts int) (*ipvs.Manager, ipvs.State) {
	k := openKernel(b)
	desired := benchState(svcs, dsts)
	m, _ := ipvs.New(ipvs.Config{}, k)
	applyOps(b, m, desired)
	return m, desired
}

// BenchmarkApply: a full apply into an empty table.
func BenchmarkApply(b *testing.B) {
	eachSize(b, func(b *testing.B, svcs, dsts int) {
		k := openKernel(b)
		desired := benchState(svcs, dsts)
		b.ReportAllocs()
		var ops int
		for b.Loop() {
			b.StopTimer()
			flushIPVS(b)
			m, _ := ipvs.New(ipvs.Config{}, k)
			b.StartTimer()
			ops = applyOps(b, m, desired)
		}
		b.ReportMetric(float64(ops), "ops/apply")
	})
}

// BenchmarkNoop: reconcile when nothing changed (reads the whole table).
func BenchmarkNoop(b *testing.B) {
	eachSize(b, func(b *testing.B, svcs, dsts int) {
		m, desired := applied(b, svcs, dsts)
		b.ReportAllocs()
		var ops int
		for b.Loop() {
			ops = applyOps(b, m, desired)
		}
		b.ReportMetric(float64(ops), "ops/apply")
	})
}

// BenchmarkOneWeight: reconcile after one real server's weight changed.
func BenchmarkOneWeight(b *testing.B) {
	eachSize(b, func(b *testing.B, svcs, dsts int) {
		m, desired := applied(b, svcs, dsts)
		d := &desired.Services[svcs/2].Destinations[0]
		b.ReportAllocs()
		var ops int
		for b.Loop() {
			d.Weight = 3 - d.Weight // 1, 2, 1, ...
			ops = applyOps(b, m, desired)
		}
		b.ReportMetric(float64(ops), "ops/apply")
	})
}

// BenchmarkIpvsadmRestore: ipvsadm -R of the same rules, for comparison.
func BenchmarkIpvsadmRestore(b *testing.B) {
	eachSize(b, func(b *testing.B, svcs, dsts int) {
		openKernel(b)
		text := restoreText(benchState(svcs, dsts))
		for b.Loop() {
			b.StopTimer()
			flushIPVS(b)
			b.StartTimer()
			cmd := exec.Command("ipvsadm", "-R")
			cmd.Stdin = strings.NewReader(text)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("ipvsadm -R: %v\n%s", err, out)
			}
		}
	})
}
