package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

// node is one of our routers in a namespace: vrrp.Instance on the Linux
// transport plus a vip.Manager, wired as in main.go.
type node struct {
	conn   *vrrp.Conn
	inst   *vrrp.Instance
	vm     *vip.Manager
	states chan vrrp.State
	cancel context.CancelFunc
	done   chan struct{}
}

var benchVIP = netip.MustParsePrefix("192.0.2.100/24")

func startNode(tb testing.TB, ns *testutil.NetNS, prio uint8, advert time.Duration) *node {
	tb.Helper()
	conn, err := vrrp.Listen(vrrp.ConnConfig{Interface: "eth0", NetNS: ns.Path()})
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := conn.Transport(51)
	if err != nil {
		tb.Fatal(err)
	}
	vm, err := vip.New(vip.Config{NetNS: ns.Path(), Announce: vip.AnnouncePolicy{SecondBurstDelay: -1}})
	if err != nil {
		tb.Fatal(err)
	}
	n := &node{conn: conn, vm: vm, states: make(chan vrrp.State, 64), done: make(chan struct{})}
	trans := make(chan vrrp.Transition, 64)
	cfg := vrrp.Config{VRID: 51, Priority: prio, AdvertInterval: advert, Source: conn.Source(),
		Addrs: []netip.Addr{benchVIP.Addr()},
		OnTransition: func(t vrrp.Transition) {
			select {
			case trans <- t:
			default:
			}
		}}
	n.inst, err = vrrp.New(cfg, tr)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	runDone := make(chan struct{})
	go func() { defer close(runDone); n.inst.Run(ctx) }()
	go func() {
		defer close(n.done)
		for {
			select {
			case t := <-trans:
				apply(ctx, func(string, ...any) {}, vm, "eth0", []netip.Prefix{benchVIP}, []netip.Addr{benchVIP.Addr()}, t.To == vrrp.StateMaster)
				// Never block once Run has ended: kill waits for this goroutine.
				select {
				case n.states <- t.To:
				case <-runDone:
					return
				}
			case <-runDone:
				return
			}
		}
	}()
	tb.Cleanup(n.kill)
	return n
}

func (n *node) wait(tb testing.TB, s vrrp.State) {
	tb.Helper()
	tm := time.NewTimer(10 * time.Second)
	defer tm.Stop()
	for {
		select {
		case got := <-n.states:
			if got == s {
				return
			}
		case <-tm.C:
			tb.Fatalf("no %v within 10s", s)
		}
	}
}

// kill ends the node like kill -9: the socket first (no priority-0 advert).
func (n *node) kill() {
	select {
	case <-n.done:
		return
	default:
	}
	n.conn.Close()
	n.cancel()
	<-n.done
	n.vm.Close()
}

type sample struct{ lastToAdv, killToGARP, killToAdv time.Duration }

// analyse finds, in a capture taken on the backup's eth0, the master's last
// advert before kill, the backup's first advert and first gratuitous ARP.
func analyse(tb testing.TB, pcap string, killAt time.Time) (sample, bool) {
	tb.Helper()
	rows := testutil.TsharkFields(tb, pcap, "frame.time_epoch", "ip.src", "vrrp.prio", "arp.opcode", "arp.src.proto_ipv4")
	var lastA, firstB, firstGARP time.Time
	for _, r := range rows {
		if len(r) < 5 {
			continue
		}
		sec, err := strconv.ParseFloat(r[0], 64)
		if err != nil {
			continue
		}
		at := time.Unix(0, int64(sec*1e9))
		switch {
		case r[1] == testutil.PairA4 && r[2] != "" && !at.After(killAt.Add(2*time.Millisecond)):
			lastA = at
		case r[1] == testutil.PairB4 && r[2] != "" && at.After(killAt) && firstB.IsZero():
			firstB = at
		case r[3] != "" && r[4] == benchVIP.Addr().String() && at.After(killAt) && firstGARP.IsZero():
			firstGARP = at
		}
	}
	if lastA.IsZero() || firstB.IsZero() || firstGARP.IsZero() {
		return sample{}, false
	}
	return sample{firstB.Sub(lastA), firstGARP.Sub(killAt), firstB.Sub(killAt)}, true
}

func kaConf(prio int, advert string) string {
	return fmt.Sprintf(`global_defs {
    router_id r%d
    vrrp_version 3
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int %s
    virtual_ipaddress {
        %s
    }
}
`, prio, prio, advert, benchVIP)
}

func median(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkInteropFailover measures failover at advert 10 ms (VRRPv3, IPv4)
// for our implementation and for keepalived in the same run: A (priority
// 150) is master, B (100) backup; A is killed (-9) at a random phase. From a
// capture on B: last-advert (A's last advert → B's first advert, compare
// with Master_Down_Interval = 3×10 ms + skew 6.1 ms = 36.1 ms) and
// kill→GARP (kill → B's first gratuitous ARP for the VIP, i.e. VIP added and
// announced). Run with a fixed count, e.g.
//
//	go test -run '^$' -bench BenchmarkInteropFailover -benchtime 7x ./examples/failover
func BenchmarkInteropFailover(b *testing.B) {
	testutil.RequireRoot(b)
	testutil.RequireCommand(b, "keepalived")
	const advert = 10 * time.Millisecond
	mdi := 3*advert + time.Duration(256-100)*advert/256
	for _, impl := range []string{"keepalived-go", "keepalived"} {
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			var samples []sample
			for b.Loop() {
				a, bb := testutil.NewPair(b)
				capt := testutil.StartCapture(b, bb, "eth0", "ip proto 112 or arp")
				var killA, waitB func()
				if impl == "keepalived" {
					ka := testutil.StartKeepalived(b, a, kaConf(150, "0.01"), testutil.KeepalivedOptions{})
					kb := testutil.StartKeepalived(b, bb, kaConf(100, "0.01"), testutil.KeepalivedOptions{})
					ka.WaitState(b, "VI_1", "MASTER", 10*time.Second)
					kb.WaitState(b, "VI_1", "BACKUP", 10*time.Second)
					killA = ka.Kill
					waitB = func() { kb.WaitState(b, "VI_1", "MASTER", 10*time.Second) }
				} else {
					na := startNode(b, a, 150, advert)
					nb := startNode(b, bb, 100, advert)
					na.wait(b, vrrp.StateMaster)
					nb.wait(b, vrrp.StateBackup)
					killA = na.kill
					waitB = func() { nb.wait(b, vrrp.StateMaster) }
				}
				time.Sleep(200*time.Millisecond + rand.N(advert))
				killAt := time.Now()
				killA()
				waitB()
				time.Sleep(100 * time.Millisecond)
				pcap := capt.Stop()
				if s, ok := analyse(b, pcap, killAt); ok {
					samples = append(samples, s)
				} else {
					b.Errorf("capture incomplete: %s", pcap)
				}
			}
			var l, g, k []time.Duration
			for _, s := range samples {
				l, g, k = append(l, s.lastToAdv), append(g, s.killToGARP), append(k, s.killToAdv)
			}
			b.ReportMetric(float64(median(l).Microseconds())/1000, "last-advert→takeover-ms")
			b.ReportMetric(float64(median(g).Microseconds())/1000, "kill→GARP-ms")
			b.ReportMetric(float64(median(k).Microseconds())/1000, "kill→advert-ms")
			b.ReportMetric(float64(mdi.Microseconds())/1000, "MDI-ms")
			b.Logf("%s n=%d last→adv %v, kill→GARP %v, kill→first advert %v", impl, len(samples), fmtD(l), fmtD(g), fmtD(k))
		})
	}
}

func fmtD(xs []time.Duration) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.1f", float64(x.Microseconds())/1000))
	}
	return "[" + strings.Join(s, " ") + "] ms"
}
