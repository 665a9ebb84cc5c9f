//go:build linux

package bfd_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// BenchmarkInteropHold holds 100 (or 10) sessions between two network namespaces at
// a given interval × 3, for three pairings run side by side on the same
// machine in one run:
//
//   - ours-frr: our Mux in A, FRR bfdd in B. CPU of our process (getrusage)
//     and of bfdd (/proc/PID/stat) over the same wall-clock window, as % of
//     one core; then bfdd is killed and the latency from the kill to each of
//     our sessions going Down (diag 1) is reported.
//   - frr-frr: bfdd in both; CPU of A's bfdd; B's bfdd is killed and the
//     time until A's vtysh shows every session down is reported (coarse:
//     one vtysh call takes ~25 ms).
//   - ours-ours: our Mux in both (one process: the CPU figure is per side,
//     half the process); B's transport is closed abruptly and A's
//     detection latency is reported.
//
// Needs root and FRR; run with -benchtime=1x.
func BenchmarkInteropHold(b *testing.B) {
	for _, c := range []struct {
		n  int
		iv time.Duration
	}{{100, 50 * time.Millisecond}, {100, 10 * time.Millisecond}, {10, 10 * time.Millisecond}} {
		for _, pairing := range []string{"ours-frr", "frr-frr", "ours-ours"} {
			b.Run(fmt.Sprintf("%s/%dx%dms", pairing, c.n, c.iv/time.Millisecond), func(b *testing.B) {
				benchHold(b, pairing, c.n, c.iv, 5*time.Second)
			})
		}
	}
}

func cpuSelf() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPID reads utime+stime of pid (clock ticks of 10 ms on Linux).
func cpuPID(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}

type benchNet struct {
	na, nb *testutil.NetNS
	as, bs []netip.Addr
}

// newBenchNet gives A 198.51.100.1..n and B 203.0.113.1..n on one veth.
func newBenchNet(b *testing.B, n int) *benchNet {
	na, nb := testutil.NewPair(b)
	na.Run(b, "ip", "route", "add", "203.0.113.0/24", "dev", "eth0")
	nb.Run(b, "ip", "route", "add", "198.51.100.0/24", "dev", "eth0")
	bn := &benchNet{na: na, nb: nb, as: make([]netip.Addr, n), bs: make([]netip.Addr, n)}
	var ba, bb strings.Builder
	for i := range n {
		bn.as[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
		bn.bs[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		fmt.Fprintf(&ba, "addr add %s/32 dev eth0\n", bn.as[i])
		fmt.Fprintf(&bb, "addr add %s/32 dev eth0\n", bn.bs[i])
	}
	for _, x := range []struct {
		ns   *testutil.NetNS
		text string
	}{{na, ba.String()}, {nb, bb.String()}} {
		f := filepath.Join(b.TempDir(), "ip-batch")
		if err := os.WriteFile(f, []byte(x.text), 0o644); err != nil {
			b.Fatal(err)
		}
		x.ns.Run(b, "ip", "-batch", f)
	}
	return bn
}

func frrPeersConf(peers, locals []netip.Addr, iv time.Duration) string {
	var conf strings.Builder
	conf.WriteString("bfd\n")
	ms := int(iv / time.Millisecond)
	for i := range peers {
		fmt.Fprintf(&conf, " peer %s local-address %s\n  transmit-interval %d\n  receive-interval %d\n  detect-multiplier 3\n  no shutdown\n !\n", peers[i], locals[i], ms, ms)
	}
	conf.WriteString("!\n")
	return conf.String()
}

func frrPID(b *testing.B, f *testutil.BFDD) int {
	pidText, err := os.ReadFile(filepath.Join(f.Dir, "bfdd.pid"))
	if err != nil {
		b.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
	return pid
}

func addOurs(b *testing.B, m *udpMux, peers, locals []netip.Addr, iv time.Duration) []uint32 {
	cfg := bfd.Config{DesiredMinTxInterval: iv, RequiredMinRxInterval: iv, DetectMultiplier: 3}
	discrs := make([]uint32, len(peers))
	for i := range peers {
		d, err := m.Add(b.Context(), bfd.SessionConfig{Peer: peers[i], Local: locals[i], Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		discrs[i] = d
	}
	return discrs
}

func oursUp(b *testing.B, m *udpMux, iv time.Duration) int {
	sts, _ := m.Sessions(b.Context())
	up := 0
	for _, st := range sts {
		if st.State == bfd.StateUp && !st.Polling && st.TxInterval == iv {
			up++
		}
	}
	return up
}

func frrUp(f *testutil.BFDD) int {
	peers, _ := f.Peers()
	up := 0
	for _, p := range peers {
		if p.Status == "up" {
			up++
		}
	}
	return up
}

// waitAll polls cond (bounded) until it reports true.
func waitAll(b *testing.B, what string, timeout time.Duration, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("%s not reached within %v", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// flapsOf counts transitions out of Up before now. With KGO_BFD_DEBUG set
// it writes every transition to that file.
func flapsOf(r *recorder) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if path := os.Getenv("KGO_BFD_DEBUG"); path != "" {
		if f, err := os.Create(path); err == nil {
			for _, c := range r.ch {
				fmt.Fprintf(f, "%s %d %v->%v %v %v\n", c.At.Format("05.000000"), c.Discriminator, c.From, c.To, c.Reason, c.Diag)
			}
			f.Close()
		}
	}
	n := 0
	for _, c := range r.ch {
		if c.From == bfd.StateUp {
			n++
		}
	}
	return n
}

// downLatencies waits until every discr has a Down (diag 1) transition and
// returns the latencies from t0, sorted.
func downLatencies(b *testing.B, r *recorder, discrs []uint32, t0 time.Time) []time.Duration {
	deadline := time.Now().Add(10 * time.Second)
	var lat []time.Duration
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		lat = lat[:0]
		r.mu.Lock()
		for _, d := range discrs {
			for i := len(r.ch) - 1; i >= 0; i-- {
				c := r.ch[i]
				if c.Discriminator == d && c.To == bfd.StateDown && c.Diag == bfd.DiagControlDetectExpired && c.At.After(t0) {
					lat = append(lat, c.At.Sub(t0))
					break
				}
			}
		}
		r.mu.Unlock()
		if len(lat) == len(discrs) {
			slices.Sort(lat)
			return lat
		}
	}
	b.Fatalf("only %d of %d sessions Down", len(lat), len(discrs))
	return nil
}

func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "detect-median-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "detect-max-ms")
}

func benchHold(b *testing.B, pairing string, n int, iv, window time.Duration) {
	testutil.RequireRoot(b)
	if _, err := os.Stat("/usr/lib/frr/bfdd"); err != nil {
		testutil.Skip(b, "FRR bfdd not installed: %v", err)
	}
	bn := newBenchNet(b, n)
	var (
		ma, mb     *udpMux
		fa, fb     *testutil.BFDD
		discrs     []uint32
		cpuA, cpuB func() time.Duration
	)
	switch pairing {
	case "ours-frr":
		fb = testutil.StartBFDD(b, bn.nb, frrPeersConf(bn.as, bn.bs, iv))
		ma = startUDPMux(b, bn.na, bfd.UDPConfig{})
		discrs = addOurs(b, ma, bn.bs, bn.as, iv)
		pid := frrPID(b, fb)
		cpuA, cpuB = cpuSelf, func() time.Duration { return cpuPID(pid) }
		waitAll(b, "all Up", 60*time.Second, func() bool { return oursUp(b, ma, iv) == n && frrUp(fb) == n })
	case "frr-frr":
		fa = testutil.StartBFDD(b, bn.na, frrPeersConf(bn.bs, bn.as, iv))
		fb = testutil.StartBFDD(b, bn.nb, frrPeersConf(bn.as, bn.bs, iv))
		pa, pb := frrPID(b, fa), frrPID(b, fb)
		cpuA, cpuB = func() time.Duration { return cpuPID(pa) }, func() time.Duration { return cpuPID(pb) }
		waitAll(b, "all up", 60*time.Second, func() bool { return frrUp(fa) == n && frrUp(fb) == n })
	case "ours-ours":
		ma = startUDPMux(b, bn.na, bfd.UDPConfig{})
		mb = startUDPMux(b, bn.nb, bfd.UDPConfig{})
		discrs = addOurs(b, ma, bn.bs, bn.as, iv)
		addOurs(b, mb, bn.as, bn.bs, iv)
		cpuA = func() time.Duration { return cpuSelf() / 2 }
		waitAll(b, "all Up", 60*time.Second, func() bool { return oursUp(b, ma, iv) == n && oursUp(b, mb, iv) == n })
	}
	time.Sleep(time.Second)
	pkts := func() uint64 {
		var n uint64
		for _, m := range []*udpMux{ma, mb} {
			if m != nil {
				st := m.Stats()
				n += st.Received + st.Sent
			}
		}
		return n
	}
	for b.Loop() {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		p0 := pkts()
		a0, w0 := cpuA(), time.Now()
		var b0 time.Duration
		if cpuB != nil {
			b0 = cpuB()
		}
		time.Sleep(window)
		wall := time.Since(w0)
		runtime.ReadMemStats(&ms1)
		var late uint64
		for _, m := range []*udpMux{ma, mb} {
			if m != nil {
				late += m.Stats().LateWakeups
			}
		}
		b.ReportMetric(float64(late), "late-wakeups")
		if p := pkts() - p0; p > 0 {
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(p), "allocs/pkt")
			b.ReportMetric(float64(p)/wall.Seconds(), "our-pkts/s")
		}
		b.ReportMetric(100*float64(cpuA()-a0)/float64(wall), "A-cpu-%")
		if cpuB != nil {
			b.ReportMetric(100*float64(cpuB()-b0)/float64(wall), "B-cpu-%")
		}
	}
	// FRR sessions whose uptime is shorter than the window went down in it.
	frrFlapped := func(f *testutil.BFDD) {
		peers, _ := f.Peers()
		n := 0
		for _, p := range peers {
			if p.Status != "up" || time.Duration(p.Uptime)*time.Second < window {
				n++
			}
		}
		b.ReportMetric(float64(n), "frr-sessions-flapped")
	}
	switch pairing {
	case "ours-frr":
		frrFlapped(fb)
		b.ReportMetric(float64(flapsOf(ma.rec)), "flaps")
		t0 := time.Now()
		fb.Kill()
		reportLatency(b, downLatencies(b, ma.rec, discrs, t0))
	case "ours-ours":
		b.ReportMetric(float64(flapsOf(ma.rec)), "flaps")
		t0 := time.Now()
		_ = mb.tr.Close() // abrupt: no AdminDown goodbye
		reportLatency(b, downLatencies(b, ma.rec, discrs, t0))
	case "frr-frr":
		frrFlapped(fa)
		t0 := time.Now()
		fb.Kill()
		waitAllFast(b, func() bool {
			peers, _ := fa.Peers()
			for _, p := range peers {
				if p.Status == "up" {
					return false
				}
			}
			return len(peers) == n
		})
		b.ReportMetric(float64(time.Since(t0))/1e6, "all-down-vtysh-ms")
	}
}

func waitAllFast(b *testing.B, cond func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("condition not reached within 10s")
		}
	}
}
