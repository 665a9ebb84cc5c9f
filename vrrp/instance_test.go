package vrrp_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	vip   = netip.MustParseAddr("192.0.2.100")
)

// recorder collects transitions from OnTransition.
type recorder struct {
	mu sync.Mutex
	ts []vrrp.Transition
}

func (r *recorder) add(t vrrp.Transition) {
	r.mu.Lock()
	r.ts = append(r.ts, t)
	r.mu.Unlock()
}

func (r *recorder) steps() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, t := range r.ts {
		out = append(out, t.From.String()+">"+t.To.String()+":"+t.Reason.String())
	}
	return out
}

type node struct {
	inst   *vrrp.Instance
	tr     *vrrptest.Transport
	rec    *recorder
	cancel context.CancelFunc
	done   chan error
}

func startNode(t *testing.T, n *vrrptest.Network, src netip.Addr, prio uint8, mod func(*vrrp.Config)) *node {
	t.Helper()
	rec := &recorder{}
	cfg := vrrp.Config{Name: src.String(), VRID: 51, Priority: prio, Source: src, Addrs: []netip.Addr{vip},
		AdvertInterval: 100 * time.Millisecond, OnTransition: rec.add}
	if mod != nil {
		mod(&cfg)
	}
	tr := n.Transport(src)
	inst, err := vrrp.New(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd := &node{inst: inst, tr: tr, rec: rec, cancel: cancel, done: make(chan error, 1)}
	go func() { nd.done <- inst.Run(ctx) }()
	t.Cleanup(func() { nd.stop(t) })
	return nd
}

func (nd *node) stop(t *testing.T) {
	t.Helper()
	nd.cancel()
	if err := <-nd.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	nd.done <- nil // later stops return at once
}

func wantState(t *testing.T, n *node, s vrrp.State) {
	t.Helper()
	synctest.Wait()
	if got := n.inst.State(); got != s {
		t.Fatalf("state = %v, want %v (transitions %v)", got, s, n.rec.steps())
	}
}

func TestInstanceFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := vrrptest.NewNetwork()
		var sent []vrrptest.Packet
		var mu sync.Mutex
		net.SetTap(func(p vrrptest.Packet) { mu.Lock(); sent = append(sent, p); mu.Unlock() })
		a := startNode(t, net, addrA, 150, nil)
		b := startNode(t, net, addrB, 100, nil)
		// A: MDI = 300ms + 106/256*100ms.
		time.Sleep(350 * time.Millisecond)
		wantState(t, a, vrrp.StateMaster)
		wantState(t, b, vrrp.StateBackup)
		time.Sleep(10 * time.Second)
		wantState(t, a, vrrp.StateMaster)
		wantState(t, b, vrrp.StateBackup)
		sa, sb := a.inst.Stats(), b.inst.Stats()
		if sa.AdvertsSent < 95 || sb.AdvertsReceived < 95 || sb.AdvertsSent != 0 {
			t.Fatalf("stats A %+v B %+v", sa, sb)
		}
		// Graceful stop: priority 0, B takes over after Skew_Time.
		a.stop(t)
		mu.Lock()
		last := sent[len(sent)-1]
		mu.Unlock()
		if last.Src != addrA || last.Payload[2] != 0 || last.Dst != vrrp.MulticastGroup4 {
			t.Fatalf("last packet %+v, want priority 0 from A", last)
		}
		time.Sleep(40 * time.Millisecond) // skew = 156/256 * 100ms ≈ 61ms
		wantState(t, b, vrrp.StateBackup)
		time.Sleep(25 * time.Millisecond)
		wantState(t, b, vrrp.StateMaster)
		if diff := cmp.Diff([]string{"INIT>BACKUP:startup", "BACKUP>MASTER:master down timer expired", "MASTER>STOP:shutdown"}, a.rec.steps()); diff != "" {
			t.Errorf("A transitions (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"INIT>BACKUP:startup", "BACKUP>MASTER:master sent priority 0"}, b.rec.steps()); diff != "" {
			t.Errorf("B transitions (-want +got):\n%s", diff)
		}
	})
}

func TestInstanceCrashAndPreempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := vrrptest.NewNetwork()
		a := startNode(t, net, addrA, 150, nil)
		b := startNode(t, net, addrB, 100, nil)
		time.Sleep(time.Second)
		wantState(t, a, vrrp.StateMaster)
		// A disappears from the network (crash): B takes over within
		// Master_Down_Interval = 300ms + 156/256*100ms.
		a.tr.SetDown(true)
		time.Sleep(360 * time.Millisecond)
		wantState(t, b, vrrp.StateMaster)
		// A comes back: split brain resolves, A preempts.
		a.tr.SetDown(false)
		time.Sleep(200 * time.Millisecond)
		wantState(t, a, vrrp.StateMaster)
		wantState(t, b, vrrp.StateBackup)
	})
}

func TestInstanceTrackingAndPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := vrrptest.NewNetwork()
		track := func(c *vrrp.Config) {
			c.Track = []vrrp.TrackedObject{{Name: "eth0"}, {Name: "chk", Weight: -60}}
		}
		a := startNode(t, net, addrA, 150, track)
		b := startNode(t, net, addrB, 100, nil)
		time.Sleep(time.Second)
		wantState(t, a, vrrp.StateMaster)
		a.inst.SetTracked("chk", false) // 150-60 = 90 < 100: B preempts
		time.Sleep(400 * time.Millisecond)
		wantState(t, b, vrrp.StateMaster)
		wantState(t, a, vrrp.StateBackup)
		if p := a.inst.Priority(); p != 90 {
			t.Fatalf("priority %d", p)
		}
		a.inst.SetTracked("chk", true)
		time.Sleep(400 * time.Millisecond)
		wantState(t, a, vrrp.StateMaster)
		a.inst.SetTracked("eth0", false)
		synctest.Wait()
		wantState(t, a, vrrp.StateFault)
		time.Sleep(100 * time.Millisecond)
		wantState(t, b, vrrp.StateMaster)
		a.inst.SetTracked("eth0", true)
		b.inst.SetPriority(200)
		time.Sleep(time.Second)
		wantState(t, a, vrrp.StateBackup)
		wantState(t, b, vrrp.StateMaster)
	})
}

func TestInstanceUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := vrrptest.NewNetwork()
		a := startNode(t, net, addrA, 150, nil)
		time.Sleep(time.Second)
		wantState(t, a, vrrp.StateMaster)
		n := len(a.rec.steps())
		cfg := vrrp.Config{VRID: 51, Priority: 120, Source: addrA, Addrs: []netip.Addr{vip, netip.MustParseAddr("192.0.2.101")},
			AdvertInterval: 200 * time.Millisecond, Accept: true, OnTransition: a.rec.add}
		if err := a.inst.Update(cfg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		wantState(t, a, vrrp.StateMaster)
		if len(a.rec.steps()) != n {
			t.Fatalf("spurious transitions %v", a.rec.steps())
		}
		if a.inst.Priority() != 120 || !a.inst.Accept() || a.inst.VRID() != 51 || a.inst.Name() != addrA.String() {
			t.Fatalf("priority %d accept %v", a.inst.Priority(), a.inst.Accept())
		}
		bad := cfg
		bad.VRID = 52
		if err := a.inst.Update(bad); !errors.Is(err, vrrp.ErrReconfigure) {
			t.Fatalf("err %v", err)
		}
		bad = cfg
		bad.Priority, bad.AdvertInterval = 1, time.Millisecond
		if err := a.inst.Update(bad); !errors.Is(err, vrrp.ErrInvalidConfig) {
			t.Fatalf("err %v", err)
		}
		if err := a.inst.Run(context.Background()); !errors.Is(err, vrrp.ErrRunning) {
			t.Fatalf("second Run: %v", err)
		}
	})
}

func TestInstanceSyncGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := vrrptest.NewNetwork()
		rec1, rec2 := &recorder{}, &recorder{}
		mk := func(vrid uint8, rec *recorder, track []vrrp.TrackedObject) *vrrp.Instance {
			inst, err := vrrp.New(vrrp.Config{VRID: vrid, Source: addrA, AdvertInterval: 100 * time.Millisecond,
				Track: track, OnTransition: rec.add}, net.Transport(addrA))
			if err != nil {
				t.Fatal(err)
			}
			return inst
		}
		i1 := mk(1, rec1, []vrrp.TrackedObject{{Name: "eth1"}})
		i2 := mk(2, rec2, nil)
		if _, err := vrrp.NewSyncGroup(i1, i2); err != nil {
			t.Fatal(err)
		}
		if _, err := vrrp.NewSyncGroup(i1); err == nil {
			t.Fatal("instance joined two groups")
		}
		if _, err := vrrp.NewSyncGroup(); err == nil {
			t.Fatal("empty group")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { i1.Run(ctx) })
		wg.Go(func() { i2.Run(ctx) })
		time.Sleep(time.Second)
		synctest.Wait()
		if i1.State() != vrrp.StateMaster || i2.State() != vrrp.StateMaster {
			t.Fatalf("states %v %v", i1.State(), i2.State())
		}
		i1.SetTracked("eth1", false)
		synctest.Wait()
		if i1.State() != vrrp.StateFault || i2.State() != vrrp.StateFault {
			t.Fatalf("states %v %v", i1.State(), i2.State())
		}
		i1.SetTracked("eth1", true)
		time.Sleep(time.Second)
		synctest.Wait()
		if i1.State() != vrrp.StateMaster || i2.State() != vrrp.StateMaster {
			t.Fatalf("states %v %v", i1.State(), i2.State())
		}
		if got := rec2.steps(); !cmp.Equal(got[2], "MASTER>FAULT:sync group") {
			t.Fatalf("i2 transitions %v", got)
		}
		cancel()
		wg.Wait()
		if _, err := vrrp.NewSyncGroup(i1); err == nil {
			t.Fatal("group after run")
		}
	})
}

// flaky is a transport whose reads fail a number of times.
type flaky struct {
	mu     sync.Mutex
	fails  int
	closed chan struct{}
	once   sync.Once
}

func (f *flaky) ReadFrom(b []byte) (int, vrrp.Meta, error) {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return 0, vrrp.Meta{}, errors.New("transient")
	}
	f.mu.Unlock()
	<-f.closed
	return 0, vrrp.Meta{}, errors.New("closed")
}
func (f *flaky) WriteTo([]byte, netip.Addr) error { return errors.New("no route") }
func (f *flaky) Close() error                     { f.once.Do(func() { close(f.closed) }); return nil }

func TestInstanceTransportErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{fails: 5, closed: make(chan struct{})}
		inst, err := vrrp.New(vrrp.Config{VRID: 1, Priority: 255, Source: addrA}, f)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- inst.Run(ctx) }()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		s := inst.Stats()
		if s.ReadErrors != 5 || s.SendErrors < 5 || inst.State() != vrrp.StateMaster {
			t.Fatalf("stats %+v state %v", s, inst.State())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if inst.State() != vrrp.StateStop {
			t.Fatalf("state %v", inst.State())
		}
	})
	if _, err := vrrp.New(vrrp.Config{VRID: 1, Source: addrA}, nil); err == nil {
		t.Fatal("nil transport accepted")
	}
	if _, err := vrrp.New(vrrp.Config{Source: addrA}, &flaky{}); err == nil {
		t.Fatal("invalid config accepted")
	}
}

func TestInstanceFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		net := vrrptest.NewNetwork()
		rec := &recorder{}
		inst, err := vrrp.New(vrrp.Config{VRID: 7, Source: addrA, Clock: clk, OnTransition: rec.add}, net.Transport(addrA))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- inst.Run(ctx) }()
		synctest.Wait()
		clk.Advance(3 * time.Second)
		synctest.Wait()
		if inst.State() != vrrp.StateBackup {
			t.Fatalf("state %v", inst.State())
		}
		clk.Advance(time.Second)
		synctest.Wait()
		if inst.State() != vrrp.StateMaster {
			t.Fatalf("state %v", inst.State())
		}
		cancel()
		<-done
		if clk.Pending() != 0 {
			t.Fatalf("%d timers left", clk.Pending())
		}
	})
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInstanceLogsDropsAndMismatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		net := vrrptest.NewNetwork()
		tr := net.Transport(addrA)
		inst, err := vrrp.New(vrrp.Config{VRID: 51, Source: addrA, Addrs: []netip.Addr{vip},
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, tr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- inst.Run(ctx) }()
		synctest.Wait()
		p := vrrp.Packet{Version: 3, Type: 1, VRID: 51, Priority: 200, AdvertInterval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.99")}}
		good, _ := p.AppendChecksummed(nil, addrB, vrrp.MulticastGroup4)
		tr.Inject(good, addrB, vrrp.MulticastGroup4)
		tr.Inject(good[:5], addrB, vrrp.MulticastGroup4)
		synctest.Wait()
		cancel()
		<-done
		out := logs.String()
		for _, want := range []string{"address list differs", "dropped advertisement", "reason=length", "transition"} {
			if !strings.Contains(out, want) {
				t.Errorf("logs lack %q:\n%s", want, out)
			}
		}
		if s := inst.Stats(); s.AddrMismatch != 1 || s.Drops[vrrp.DropLength] != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// advertFrom returns a VRRPv3 advertisement for VRID 51 from src to the
// IPv4 group, with a valid checksum.
func advertFrom(t *testing.T, src netip.Addr, prio uint8, interval time.Duration) []byte {
	t.Helper()
	p := vrrp.Packet{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 51, Priority: prio, AdvertInterval: interval, Addrs: []netip.Addr{vip}}
	b, err := p.AppendChecksummed(nil, src, vrrp.MulticastGroup4)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A MASTER that hears a lower-priority advertisement calls OnLowerPriority
// (keepalived's garp_lower_prio_* and notify_master_rx_lower_pri); one
// that preempts it, or a priority-0 one, does not.
func TestInstanceOnLowerPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu  sync.Mutex
			got []vrrp.PeerAdvert
		)
		n := vrrptest.NewNetwork()
		nd := startNode(t, n, addrA, 200, func(c *vrrp.Config) {
			c.OnLowerPriority = func(a vrrp.PeerAdvert) {
				mu.Lock()
				got = append(got, a)
				mu.Unlock()
			}
		})
		time.Sleep(time.Second) // Master_Down_Interval 0.3s + skew
		synctest.Wait()
		if s := nd.inst.State(); s != vrrp.StateMaster {
			t.Fatalf("state %v, want MASTER", s)
		}
		at := time.Now()
		nd.tr.Inject(advertFrom(t, addrB, 100, 100*time.Millisecond), addrB, vrrp.MulticastGroup4)
		nd.tr.Inject(advertFrom(t, addrB, 0, 100*time.Millisecond), addrB, vrrp.MulticastGroup4)
		synctest.Wait()
		mu.Lock()
		want := []vrrp.PeerAdvert{{From: addrB, Priority: 100, At: at}}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("OnLowerPriority calls (-want +got):\n%s", diff)
		}
		mu.Unlock()
		if s := nd.inst.Stats(); s.LowerPriorityReceived != 1 {
			t.Errorf("Stats.LowerPriorityReceived = %d, want 1", s.LowerPriorityReceived)
		}
		nd.tr.Inject(advertFrom(t, addrB, 250, 100*time.Millisecond), addrB, vrrp.MulticastGroup4)
		synctest.Wait()
		if s := nd.inst.State(); s != vrrp.StateBackup {
			t.Errorf("state %v after a higher-priority advert, want BACKUP", s)
		}
		mu.Lock()
		if len(got) != 1 {
			t.Errorf("OnLowerPriority called %d times, want 1", len(got))
		}
		mu.Unlock()
	})
}

// since returns the transitions recorded at or after t0.
func (r *recorder) since(t0 time.Time) []vrrp.Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []vrrp.Transition
	for _, t := range r.ts {
		if !t.At.Before(t0) {
			out = append(out, t)
		}
	}
	return out
}

// ReportMasterDown on the in-memory LAN: a true hint makes the BACKUP take
// over at once instead of Master_Down_Interval (3 × 1s + skew) after the
// master's last advertisement; a false hint costs one short MASTER period
// that ends within one advertisement interval, with no further flapping;
// hints naming another router or sent to the master are ignored.
func TestInstanceReportMasterDown(t *testing.T) {
	const advert = time.Second
	cases := []struct {
		name          string
		lowerNoAdvert bool // the master ignores lower-priority adverts (lower_prio_no_advert)
	}{
		{"master answers lower priority", false},
		{"master with lower_prio_no_advert", true},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/true hint", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := vrrptest.NewNetwork()
				mod := func(c *vrrp.Config) { c.AdvertInterval = advert; c.LowerPrioNoAdvert = tc.lowerNoAdvert }
				a := startNode(t, n, addrA, 200, mod)
				time.Sleep(5 * advert)
				b := startNode(t, n, addrB, 100, mod)
				time.Sleep(5 * advert)
				wantState(t, a, vrrp.StateMaster)
				wantState(t, b, vrrp.StateBackup)
				if got := b.inst.Master(); got != addrA {
					t.Fatalf("B's Master() = %v, want %v", got, addrA)
				}
				time.Sleep(advert / 2) // between two adverts of A
				a.tr.SetDown(true)     // A is gone (crashed, cable cut)
				at := time.Now()
				b.inst.ReportMasterDown(addrA)
				wantState(t, b, vrrp.StateMaster)
				ts := b.rec.since(at)
				if len(ts) != 1 || ts[0].Reason != vrrp.ReasonMasterDownHint || !ts[0].At.Equal(at) {
					t.Fatalf("B's transitions after the hint: %+v, want one to MASTER (master reported down) at %v", ts, at)
				}
				if s := b.inst.Stats(); s.MasterDownHints != 1 || s.MasterDownHintsIgnored != 0 {
					t.Errorf("B's hints acted on, ignored = %d, %d; want 1, 0", s.MasterDownHints, s.MasterDownHintsIgnored)
				}
			})
		})
		t.Run(tc.name+"/false hint", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := vrrptest.NewNetwork()
				mod := func(c *vrrp.Config) { c.AdvertInterval = advert; c.LowerPrioNoAdvert = tc.lowerNoAdvert }
				a := startNode(t, n, addrA, 200, mod)
				time.Sleep(5 * advert)
				b := startNode(t, n, addrB, 100, mod)
				time.Sleep(5 * advert)
				wantState(t, b, vrrp.StateBackup)
				time.Sleep(advert / 2)
				at := time.Now()
				b.inst.ReportMasterDown(addrA) // A is alive
				// Ignored: not the master B heard, and A is not BACKUP.
				b.inst.ReportMasterDown(netip.MustParseAddr("192.0.2.3"))
				a.inst.ReportMasterDown(addrB)
				time.Sleep(20 * advert)
				wantState(t, a, vrrp.StateMaster)
				wantState(t, b, vrrp.StateBackup)
				if ts := a.rec.since(at); len(ts) != 0 {
					t.Errorf("A's transitions after the false hint: %+v, want none", ts)
				}
				ts := b.rec.since(at)
				if len(ts) != 2 || ts[0].To != vrrp.StateMaster || ts[0].Reason != vrrp.ReasonMasterDownHint ||
					ts[1].To != vrrp.StateBackup || ts[1].Reason != vrrp.ReasonHigherPriority {
					t.Fatalf("B's transitions after the false hint: %+v, want MASTER (hint) then BACKUP (higher priority)", ts)
				}
				// One master again within one advertisement interval: at
				// once if A answers lower priorities, else at A's next
				// advert, at most one interval later.
				if d := ts[1].At.Sub(at); d > advert {
					t.Errorf("two masters for %v, want at most one advert interval %v", d, advert)
				}
				if !tc.lowerNoAdvert && ts[1].At.Sub(at) != 0 {
					t.Errorf("two masters for %v, want 0 (A answers at once)", ts[1].At.Sub(at))
				}
				if s := b.inst.Stats(); s.MasterDownHints != 1 || s.MasterDownHintsIgnored != 1 {
					t.Errorf("B's hints acted on, ignored = %d, %d; want 1, 1", s.MasterDownHints, s.MasterDownHintsIgnored)
				}
				if s := a.inst.Stats(); s.MasterDownHints != 0 || s.MasterDownHintsIgnored != 1 {
					t.Errorf("A's hints acted on, ignored = %d, %d; want 0, 1", s.MasterDownHints, s.MasterDownHintsIgnored)
				}
			})
		})
	}
}
