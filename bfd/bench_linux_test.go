//go:build linux

package bfd_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// BenchmarkInteropHold holds 100 sessions between our Mux (namespace A) and
// FRR bfdd (namespace B) at a given interval × 3 and reports, over the same
// wall-clock window, the CPU used by our process (getrusage) and by bfdd
// (/proc/PID/stat), as a percentage of one core. Then bfdd is killed and
// the latency from the kill to each of our sessions going Down (diag 1) is
// reported. Needs root; run with -benchtime=1x.
func BenchmarkInteropHold(b *testing.B) {
	for _, iv := range []time.Duration{50 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(fmt.Sprintf("100x%dms", iv/time.Millisecond), func(b *testing.B) { benchHold(b, 100, iv, 5*time.Second) })
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

func benchHold(b *testing.B, n int, iv, window time.Duration) {
	testutil.RequireRoot(b)
	if _, err := os.Stat("/usr/lib/frr/bfdd"); err != nil {
		testutil.Skip(b, "FRR bfdd not installed: %v", err)
	}
	na, nb := testutil.NewPair(b)
	na.Run(b, "ip", "route", "add", "203.0.113.0/24", "dev", "eth0")
	nb.Run(b, "ip", "route", "add", "198.51.100.0/24", "dev", "eth0")
	var conf strings.Builder
	conf.WriteString("bfd\n")
	as, bs := make([]netip.Addr, n), make([]netip.Addr, n)
	for i := range n {
		as[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
		bs[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		na.Run(b, "ip", "addr", "add", as[i].String()+"/32", "dev", "eth0")
		nb.Run(b, "ip", "addr", "add", bs[i].String()+"/32", "dev", "eth0")
		ms := int(iv / time.Millisecond)
		fmt.Fprintf(&conf, " peer %s local-address %s\n  transmit-interval %d\n  receive-interval %d\n  detect-multiplier 3\n  no shutdown\n !\n", as[i], bs[i], ms, ms)
	}
	conf.WriteString("!\n")
	frr := testutil.StartBFDD(b, nb, conf.String())
	pidText, err := os.ReadFile(filepath.Join(frr.Dir, "bfdd.pid"))
	if err != nil {
		b.Fatal(err)
	}
	frrPID, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))

	ours := startUDPMux(b, na, bfd.UDPConfig{})
	cfg := bfd.Config{DesiredMinTxInterval: iv, RequiredMinRxInterval: iv, DetectMultiplier: 3}
	discrs := make([]uint32, n)
	for i := range n {
		d, err := ours.Add(b.Context(), bfd.SessionConfig{Peer: bs[i], Local: as[i], Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		discrs[i] = d
	}
	// All Up on both sides, polls finished.
	deadline := time.Now().Add(30 * time.Second)
	for {
		sts, _ := ours.Sessions(b.Context())
		up := 0
		for _, st := range sts {
			if st.State == bfd.StateUp && !st.Polling && st.TxInterval == iv {
				up++
			}
		}
		peers, _ := frr.Peers()
		frrUp := 0
		for _, p := range peers {
			if p.Status == "up" {
				frrUp++
			}
		}
		if up == n && frrUp == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 30 s: %d of ours Up at %v, %d of FRR's up", up, iv, frrUp)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)

	for b.Loop() {
		s0, f0, w0 := cpuSelf(), cpuPID(frrPID), time.Now()
		time.Sleep(window)
		s1, f1, w1 := cpuSelf(), cpuPID(frrPID), time.Now()
		wall := w1.Sub(w0)
		b.ReportMetric(100*float64(s1-s0)/float64(wall), "ours-cpu-%")
		b.ReportMetric(100*float64(f1-f0)/float64(wall), "frr-cpu-%")
	}
	sts, _ := ours.Sessions(b.Context())
	for _, st := range sts {
		if st.State != bfd.StateUp {
			b.Logf("session %v %v after the window", st.Peer, st.State)
		}
	}
	flaps := 0
	ours.rec.mu.Lock()
	for _, c := range ours.rec.ch {
		if c.From == bfd.StateUp {
			flaps++
		}
	}
	ours.rec.mu.Unlock()
	b.ReportMetric(float64(flaps), "flaps")
	if flaps > 0 {
		hist := map[string]int{}
		ours.rec.mu.Lock()
		for _, c := range ours.rec.ch {
			hist[fmt.Sprintf("%v->%v (%v)", c.From, c.To, c.Reason)]++
		}
		ours.rec.mu.Unlock()
		b.Logf("transitions of our sessions: %v", hist)
	}

	killed := time.Now()
	frr.Kill()
	deadline = time.Now().Add(10 * time.Second)
	var lat []time.Duration
	for len(lat) < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		lat = lat[:0]
		for _, d := range discrs {
			if c, ok := ours.rec.last(d); ok && c.To == bfd.StateDown && c.Diag == bfd.DiagControlDetectExpired {
				lat = append(lat, c.At.Sub(killed))
			}
		}
	}
	if len(lat) < n {
		b.Fatalf("only %d of %d sessions Down after kill", len(lat), n)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "detect-median-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "detect-max-ms")
}
