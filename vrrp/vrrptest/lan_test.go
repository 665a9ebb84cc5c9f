package vrrptest

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
)

func addr4(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }

func newTestLAN(t *testing.T, cfg LANConfig, prios ...uint8) (*LAN, []*Router) {
	t.Helper()
	lan := NewLAN(cfg)
	var rs []*Router
	for i, p := range prios {
		r, err := lan.AddRouter("r"+string(rune('1'+i)), vrrp.Config{VRID: 51, Priority: p, AdvertInterval: 100 * time.Millisecond,
			Source: addr4(i + 1), Track: []vrrp.TrackedObject{{Name: "iface"}}})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
		lan.Start(r)
	}
	return lan, rs
}

func masterName(lan *LAN, vrid uint8) string {
	ms := lan.Masters(vrid)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name())
	}
	return strings.Join(names, ",")
}

func TestLANPartitionAndHeal(t *testing.T) {
	lan, rs := newTestLAN(t, LANConfig{Seed: 7, Jitter: time.Millisecond}, 200, 100, 50)
	lan.Run(time.Second)
	if got := masterName(lan, 51); got != "r1" {
		t.Fatalf("masters %q", got)
	}
	lan.Partition([]*Router{rs[0]}, []*Router{rs[1], rs[2]})
	lan.Run(time.Second)
	if got := masterName(lan, 51); got != "r1,r2" {
		t.Fatalf("partitioned masters %q", got)
	}
	lan.Heal()
	ok := lan.RunUntil(func() bool { return masterName(lan, 51) == "r1" }, time.Second)
	if !ok {
		t.Fatalf("no convergence after heal: %q", masterName(lan, 51))
	}
	if s := lan.Stats(); s.Cut == 0 || s.Sent == 0 || s.Delivered == 0 {
		t.Fatalf("stats %+v", s)
	}
	tr := lan.Trace()
	for _, want := range []string{"partition", "heal", "BACKUP -> MASTER", "send prio 200", "recv prio 200 from r1"} {
		if !strings.Contains(tr, want) {
			t.Fatalf("trace lacks %q:\n%s", want, tr)
		}
	}
}

func TestLANLossAndDelay(t *testing.T) {
	lan, rs := newTestLAN(t, LANConfig{Seed: 3, Delay: -1}, 200, 100)
	lan.Run(time.Second)
	lan.SetLoss(rs[0], rs[1], 1)
	lan.Run(time.Second)
	if got := masterName(lan, 51); got != "r1,r2" {
		t.Fatalf("masters with one-way loss %q", got)
	}
	lan.SetLoss(rs[0], rs[1], 0)
	lan.SetDelay(rs[0], rs[1], 10*time.Millisecond)
	lan.Run(time.Second)
	if got := masterName(lan, 51); got != "r1" {
		t.Fatalf("masters %q", got)
	}
	if lan.Stats().Lost == 0 || !strings.Contains(lan.Trace(), "lost packet from r1") {
		t.Fatal("loss not recorded")
	}
	if rs[0].LastSent().IsZero() || !rs[0].Up() || rs[0].Machine() == nil || rs[0].Config().VRID != 51 || len(lan.Routers()) != 2 {
		t.Fatal("accessors")
	}
}

func TestLANUpdateTrackingAndStop(t *testing.T) {
	lan, rs := newTestLAN(t, LANConfig{TraceLimit: 10}, 200, 100)
	lan.Run(time.Second)
	n := len(lan.Transitions())
	cfg := rs[0].Config()
	cfg.Priority = 210
	if err := lan.Update(rs[0], cfg); err != nil {
		t.Fatal(err)
	}
	lan.Run(time.Second)
	if len(lan.Transitions()) != n {
		t.Fatal("update caused a transition")
	}
	cfg.VRID = 9
	if err := lan.Update(rs[0], cfg); err == nil {
		t.Fatal("VRID change accepted")
	}
	lan.SetPriority(rs[1], 250)
	lan.Run(time.Second)
	if got := masterName(lan, 51); got != "r2" {
		t.Fatalf("masters %q", got)
	}
	lan.SetTracked(rs[1], "iface", false)
	lan.Run(100 * time.Millisecond)
	if got := masterName(lan, 51); got != "r1" || rs[1].State() != vrrp.StateFault {
		t.Fatalf("masters %q, r2 %v", got, rs[1].State())
	}
	lan.Stop(rs[0])
	lan.Crash(rs[1])
	lan.Crash(rs[1])
	lan.Note("both down")
	lan.Run(time.Second)
	if got := masterName(lan, 51); got != "" || rs[1].State() != vrrp.StateStop {
		t.Fatalf("masters %q", got)
	}
	lan.Restart(rs[0]) // not crashed: no-op
	lan.Start(rs[0])
	lan.Restart(rs[1])
	lan.Restart(rs[1])
	lan.Run(time.Second)
	// r2 restarted with its configured priority 100, below r1's 210.
	if got := masterName(lan, 51); got != "r1" {
		t.Fatalf("masters %q", got)
	}
	if lines := strings.Count(lan.Trace(), "\n"); lines > 10 {
		t.Fatalf("trace limit ignored: %d lines", lines)
	}
	// Operations on a crashed router are ignored.
	lan.Crash(rs[0])
	lan.Start(rs[0])
	lan.Stop(rs[0])
	lan.SetTracked(rs[0], "iface", false)
	lan.SetPriority(rs[0], 1)
	if rs[0].State() != vrrp.StateStop {
		t.Fatal("crashed router acted")
	}
	if _, err := lan.AddRouter("bad", vrrp.Config{}); err == nil {
		t.Fatal("invalid config accepted")
	}
}

func TestLANSyncGroup(t *testing.T) {
	lan := NewLAN(LANConfig{Seed: 1, Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	mk := func(name string, host int, vrid, prio uint8) *Router {
		r, err := lan.AddRouter(name, vrrp.Config{VRID: vrid, Priority: prio, AdvertInterval: 100 * time.Millisecond,
			Source: addr4(host), Track: []vrrp.TrackedObject{{Name: "uplink"}}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a1, a2 := mk("a/1", 1, 1, 200), mk("a/2", 1, 2, 200)
	b1, b2 := mk("b/1", 2, 1, 100), mk("b/2", 2, 2, 100)
	if err := lan.SyncGroup(a1, a2); err != nil {
		t.Fatal(err)
	}
	if err := lan.SyncGroup(b1, b2); err != nil {
		t.Fatal(err)
	}
	if err := lan.SyncGroup(a1); err == nil {
		t.Fatal("router in two groups")
	}
	for _, r := range []*Router{a1, a2, b1, b2} {
		lan.Start(r)
	}
	lan.Run(time.Second)
	if masterName(lan, 1) != "a/1" || masterName(lan, 2) != "a/2" {
		t.Fatalf("masters %q %q", masterName(lan, 1), masterName(lan, 2))
	}
	// a's uplink fails: the whole group on a faults, b takes both VRIDs.
	lan.SetTracked(a1, "uplink", false)
	lan.Run(time.Second)
	if a2.State() != vrrp.StateFault || masterName(lan, 1) != "b/1" || masterName(lan, 2) != "b/2" {
		t.Fatalf("a/2 %v, masters %q %q", a2.State(), masterName(lan, 1), masterName(lan, 2))
	}
	// A crashed and restarted member starts faulted with its group.
	lan.Crash(a2)
	lan.Restart(a2)
	if a2.State() != vrrp.StateFault {
		t.Fatalf("restarted member %v", a2.State())
	}
	lan.SetTracked(a1, "uplink", true)
	lan.Run(time.Second)
	if masterName(lan, 1) != "a/1" || masterName(lan, 2) != "a/2" {
		t.Fatalf("masters %q %q", masterName(lan, 1), masterName(lan, 2))
	}
	// b/1 outranks a/1, but b/2 still hears a higher-priority master: the
	// group on b waits (no flapping half-takeover), as keepalived does.
	lan.SetPriority(b1, 250)
	lan.Run(time.Second)
	if masterName(lan, 1) != "a/1" || masterName(lan, 2) != "a/2" || b1.State() != vrrp.StateBackup {
		t.Fatalf("masters %q %q", masterName(lan, 1), masterName(lan, 2))
	}
	n := len(lan.Transitions())
	lan.Run(5 * time.Second)
	if len(lan.Transitions()) != n {
		t.Fatal("sync group flapped while waiting")
	}
	// Once b/2 outranks a/2 too, the whole group on b takes over.
	lan.SetPriority(b2, 250)
	lan.Run(time.Second)
	if masterName(lan, 1) != "b/1" || masterName(lan, 2) != "b/2" {
		t.Fatalf("masters %q %q", masterName(lan, 1), masterName(lan, 2))
	}
	for _, tr := range lan.Transitions()[n:] {
		if tr.To == vrrp.StateMaster && tr.Reason != vrrp.ReasonPreempt && tr.Reason != vrrp.ReasonSyncGroup {
			t.Fatalf("unexpected transition %+v", tr.Transition)
		}
	}
	// b loses its uplink on b/2 only: a's group takes both back.
	lan.SetTracked(b2, "uplink", false)
	lan.Run(time.Second)
	if masterName(lan, 1) != "a/1" || masterName(lan, 2) != "a/2" || b1.State() != vrrp.StateFault {
		t.Fatalf("masters %q %q, b/1 %v", masterName(lan, 1), masterName(lan, 2), b1.State())
	}
}

func TestScenarioCheckDetectsSplitBrain(t *testing.T) {
	s := &scenario{seed: 1, adv: 100 * time.Millisecond, trace: true}
	s.lan, _ = newTestLAN(t, LANConfig{}, 200, 100)
	s.vrids = []uint8{51}
	s.lan.Run(time.Second)
	if err := s.check("start"); err != nil {
		t.Fatal(err)
	}
	s.lan.Partition()
	s.lan.Run(time.Second)
	if err := s.check("partition"); err == nil || !strings.Contains(err.Error(), "2 masters") {
		t.Fatalf("split brain not detected: %v", err)
	}
	s.lan.Heal()
	s.lan.Run(time.Second)
	s.lan.SetPriority(s.lan.routers[1], 250)
	if err := s.check("no preemption"); err == nil || !strings.Contains(err.Error(), "preempting") {
		t.Fatalf("lost preemption not detected: %v", err)
	}
	if err := s.converge("preemption"); err != nil {
		t.Fatal(err)
	}
	e := &ScenarioError{Seed: 1, Description: "d", Failure: "f", Trace: "t"}
	var se *ScenarioError
	if !errors.As(error(e), &se) || !strings.Contains(e.Error(), "seed 1") {
		t.Fatal(e.Error())
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start)
	var fired []int
	c.AfterFunc(2*time.Second, func() { fired = append(fired, 2) })
	stop := c.AfterFunc(time.Second, func() { fired = append(fired, 1) })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, 10)
		c.AfterFunc(0, func() { fired = append(fired, 11) })
	})
	if !stop() || stop() {
		t.Fatal("stop")
	}
	c.BlockUntil(2)
	c.Advance(1500 * time.Millisecond)
	if len(fired) != 2 || fired[0] != 10 || fired[1] != 11 || c.Pending() != 1 {
		t.Fatalf("fired %v pending %d", fired, c.Pending())
	}
	c.Advance(time.Second)
	if len(fired) != 3 || !c.Now().Equal(start.Add(2500*time.Millisecond)) {
		t.Fatalf("fired %v now %v", fired, c.Now())
	}
}

func TestNetwork(t *testing.T) {
	n := NewNetwork()
	a, b, c := n.Transport(addr4(1)), n.Transport(addr4(2)), n.Transport(netip.MustParseAddr("fe80::1"))
	if a.Addr() != addr4(1) {
		t.Fatal("Addr")
	}
	var tapped int
	n.SetTap(func(Packet) { tapped++ })
	if err := a.WriteTo([]byte{1, 2, 3}, vrrp.MulticastGroup4); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo([]byte{4}, addr4(2)); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo([]byte{5}, addr4(9)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	k, m, err := b.ReadFrom(buf)
	if err != nil || k != 3 || m.Src != addr4(1) || m.Dst != vrrp.MulticastGroup4 || m.TTL != 255 {
		t.Fatalf("%d %+v %v", k, m, err)
	}
	k, _, _ = b.ReadFrom(buf)
	if k != 1 || buf[0] != 4 {
		t.Fatal("unicast")
	}
	b.SetDown(true)
	a.WriteTo([]byte{6}, vrrp.MulticastGroup4)
	b.WriteTo([]byte{7}, vrrp.MulticastGroup4)
	b.Inject([]byte{8}, addr4(7), vrrp.MulticastGroup4)
	k, m, _ = b.ReadFrom(buf)
	if k != 1 || buf[0] != 8 || m.Src != addr4(7) {
		t.Fatal("inject")
	}
	if tapped != 5 {
		t.Fatalf("tapped %d", tapped)
	}
	c.Close()
	c.Close()
	if _, _, err := c.ReadFrom(buf); err == nil {
		t.Fatal("read after close")
	}
	if err := c.WriteTo(buf, vrrp.MulticastGroup6); err == nil {
		t.Fatal("write after close")
	}
}

// UNH-IOL VRRP Operations Test Suite, group 1 (interoperability), between
// simulated routers: VRRP.1.1 basic (one master, the other backs up and
// takes over), VRRP.1.2 advanced (several routers, failover order).
func TestUNHGroup1Interoperability(t *testing.T) {
	t.Run("VRRP.1.1 basic", func(t *testing.T) {
		lan, rs := newTestLAN(t, LANConfig{Seed: 11}, 150, 100)
		lan.Run(time.Second)
		if masterName(lan, 51) != "r1" || rs[1].State() != vrrp.StateBackup {
			t.Fatalf("masters %q", masterName(lan, 51))
		}
		lan.Crash(rs[0])
		lan.Run(time.Second)
		if masterName(lan, 51) != "r2" {
			t.Fatalf("masters %q", masterName(lan, 51))
		}
	})
	t.Run("VRRP.1.2 advanced", func(t *testing.T) {
		lan, rs := newTestLAN(t, LANConfig{Seed: 12, Jitter: 2 * time.Millisecond}, 100, 250, 200, 150)
		want := []string{"r2", "r3", "r4", "r1"}
		for i, w := range want {
			lan.Run(time.Second)
			if got := masterName(lan, 51); got != w {
				t.Fatalf("round %d: masters %q, want %q", i, got, w)
			}
			for _, r := range rs {
				if r.Name() == w {
					lan.Stop(r)
				}
			}
		}
	})
}

func TestLANDeterministic(t *testing.T) {
	run := func() string {
		lan, rs := newTestLAN(t, LANConfig{Seed: 42, Jitter: 5 * time.Millisecond, Loss: 0.2}, 200, 150, 100)
		lan.Run(2 * time.Second)
		lan.Crash(rs[0])
		lan.Run(2 * time.Second)
		return lan.Trace()
	}
	a, b := run(), run()
	if a != b {
		t.Fatal("same seed, different traces")
	}
	if !strings.Contains(a, "lost packet") {
		t.Fatal("no loss with Loss 0.2")
	}
}
