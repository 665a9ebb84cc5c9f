package bfd_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/bfd/bfdtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

// recorder collects state changes.
type recorder struct {
	mu sync.Mutex
	ch []bfd.StateChange
}

func (r *recorder) add(c bfd.StateChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ch = append(r.ch, c)
}

func (r *recorder) last(discr uint32) (bfd.StateChange, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.ch) - 1; i >= 0; i-- {
		if r.ch[i].Discriminator == discr {
			return r.ch[i], true
		}
	}
	return bfd.StateChange{}, false
}

type node struct {
	mux *bfd.Mux
	tr  *bfdtest.Transport
	rec *recorder
}

// startMux starts a mux with cfg on the network, recording its state
// changes; it stops when ctx ends, at the latest at the end of the test.
func startMux(t *testing.T, ctx context.Context, n *bfdtest.Network, cfg bfd.MuxConfig, addrs ...netip.Addr) *node {
	t.Helper()
	tr, err := n.Listen(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	cfg.OnTransition = rec.add
	m, err := bfd.NewMux(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &node{mux: m, tr: tr, rec: rec}
}

// seeded is a MuxConfig with a deterministic random source.
func seeded(seed uint64) bfd.MuxConfig { return bfd.MuxConfig{Rand: rand.NewPCG(seed, 1)} }

func TestMuxSessionsComeUpAndDetect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		n := bfdtest.NewNetwork()
		a := startMux(t, ctx, n, seeded(1), addrA)
		b := startMux(t, ctx, n, seeded(2), addrB)
		da, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: addrB, Local: addrA})
		if err != nil {
			t.Fatal(err)
		}
		db, err := b.mux.Add(ctx, bfd.SessionConfig{Peer: addrA, Local: addrB, Config: bfd.Config{LocalDiscriminator: da}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for _, x := range []struct {
			n *node
			d uint32
		}{{a, da}, {b, db}} {
			st, err := x.n.mux.Session(ctx, x.d)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != bfd.StateUp {
				t.Fatalf("state %v, want Up", st.State)
			}
			if c, ok := x.n.rec.last(x.d); !ok || c.To != bfd.StateUp || c.Peer != st.Peer {
				t.Errorf("last state change %+v", c)
			}
		}

		heal := n.Partition(addrA, addrB)
		start := time.Now()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		c, _ := a.rec.last(da)
		if c.To != bfd.StateDown || c.Diag != bfd.DiagControlDetectExpired {
			t.Fatalf("after partition: %+v", c)
		}
		if d := c.At.Sub(start); d > 900*time.Millisecond {
			t.Errorf("detected after %v, want <= 900ms", d)
		}
		heal()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if c, _ := a.rec.last(da); c.To != bfd.StateUp {
			t.Fatalf("after heal: %+v", c)
		}

		// Timer change through the mux: poll sequence completes.
		fast := bfd.Timers{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond}
		for _, x := range []struct {
			n *node
			d uint32
		}{{a, da}, {b, db}} {
			if err := x.n.mux.Inject(ctx, x.d, bfd.Event{Kind: bfd.EventSetTimers, Timers: fast}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		st, _ := a.mux.Session(ctx, da)
		if st.TxInterval != 50*time.Millisecond || st.DetectionTime != 150*time.Millisecond || st.Polling {
			t.Errorf("after timer change: tx %v detect %v polling %v", st.TxInterval, st.DetectionTime, st.Polling)
		}

		// Remove: the peer hears AdminDown and goes Down with diag 3.
		if err := a.mux.Remove(ctx, da); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if c, _ := b.rec.last(db); c.To != bfd.StateDown || c.Diag != bfd.DiagNeighborDown {
			t.Errorf("peer after Remove: %+v", c)
		}
		if err := a.mux.Remove(ctx, da); !errors.Is(err, bfd.ErrNoSession) {
			t.Errorf("second Remove = %v", err)
		}
		if _, err := a.mux.Session(ctx, da); !errors.Is(err, bfd.ErrNoSession) {
			t.Errorf("Session after Remove = %v", err)
		}
		if err := a.mux.Inject(ctx, da, bfd.Event{Kind: bfd.EventPoll}); !errors.Is(err, bfd.ErrNoSession) {
			t.Errorf("Inject after Remove = %v", err)
		}
		if ms := b.mux.Stats(); ms.Received == 0 || ms.Sent == 0 || ms.TimerEvents == 0 {
			t.Errorf("mux stats %+v", ms)
		}
	})
}

func TestMuxManySessions(t *testing.T) {
	const n = 100
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		nw := bfdtest.NewNetwork()
		var as, bs []netip.Addr
		for i := range n {
			as = append(as, netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}))
			bs = append(bs, netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}))
		}
		a := startMux(t, ctx, nw, seeded(1), as...)
		b := startMux(t, ctx, nw, seeded(2), bs...)
		for i := range n {
			cfg := bfd.Config{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond}
			if _, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: bs[i], Local: as[i], Config: cfg}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.mux.Add(ctx, bfd.SessionConfig{Peer: as[i], Local: bs[i], Config: cfg}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, x := range []*node{a, b} {
			sts, err := x.mux.Sessions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(sts) != n {
				t.Fatalf("%d sessions", len(sts))
			}
			for _, st := range sts {
				if st.State != bfd.StateUp || st.TxInterval != 50*time.Millisecond {
					t.Fatalf("session %v: %v tx %v", st.Peer, st.State, st.TxInterval)
				}
				if st.Stats.Transitions > 2 {
					t.Errorf("session %v flapped: %d transitions", st.Peer, st.Stats.Transitions)
				}
				if st.Stats.Received < 100 {
					t.Errorf("session %v received only %d packets in 10 s", st.Peer, st.Stats.Received)
				}
			}
		}
	})
}

func TestMuxDemux(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		n := bfdtest.NewNetwork()
		a := startMux(t, ctx, n, seeded(1), addrA)
		raw, err := n.Listen(addrB)
		if err != nil {
			t.Fatal(err)
		}
		da, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: addrB, Config: bfd.Config{LocalDiscriminator: 77}})
		if err != nil {
			t.Fatal(err)
		}
		if da != 77 {
			t.Fatalf("discriminator %d, want 77", da)
		}
		if _, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: addrB}); err == nil {
			t.Error("duplicate peer accepted")
		}
		if _, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: netip.MustParseAddr("192.0.2.9"), Config: bfd.Config{LocalDiscriminator: 77}}); err == nil {
			t.Error("duplicate discriminator accepted")
		}
		if _, err := a.mux.Add(ctx, bfd.SessionConfig{}); err == nil {
			t.Error("session without peer accepted")
		}
		if _, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: netip.MustParseAddr("2001:db8::2"), Local: addrA}); err == nil {
			t.Error("mixed address families accepted")
		}
		if _, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: netip.MustParseAddr("192.0.2.10"), Config: bfd.Config{DesiredMinTxInterval: -1}}); err == nil {
			t.Error("invalid config accepted")
		}
		send := func(p bfd.ControlPacket, m bfd.Meta) {
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			m.Peer = addrA
			if err := raw.WriteTo(b, m); err != nil {
				t.Fatal(err)
			}
		}
		down := bfd.ControlPacket{State: bfd.StateDown, DetectMult: 3, MyDiscriminator: 5, DesiredMinTxInterval: time.Second, RequiredMinRxInterval: time.Second}
		send(down, bfd.Meta{})                                  // by address: session goes Init
		send(down, bfd.Meta{MultiHop: true})                    // no multi-hop session: no session
		_ = raw.WriteTo([]byte{1, 2, 3}, bfd.Meta{Peer: addrA}) // malformed
		wrong := down
		wrong.YourDiscriminator = 99
		send(wrong, bfd.Meta{}) // unknown discriminator
		synctest.Wait()
		st, _ := a.mux.Session(ctx, da)
		if st.State != bfd.StateInit {
			t.Errorf("state %v, want Init", st.State)
		}
		ms := a.mux.Stats()
		if ms.Malformed != 1 || ms.NoSession != 2 {
			t.Errorf("stats %+v, want 1 malformed, 2 no session", ms)
		}
		// A packet for our discriminator from another address is refused.
		other, _ := n.Listen(netip.MustParseAddr("192.0.2.3"))
		p := down
		p.YourDiscriminator = da
		b, _ := p.MarshalBinary()
		_ = other.WriteTo(b, bfd.Meta{Peer: addrA})
		synctest.Wait()
		if ms := a.mux.Stats(); ms.BadAddress != 1 {
			t.Errorf("bad address count %d, want 1", ms.BadAddress)
		}
		st, _ = a.mux.Session(ctx, da)
		if st.Stats.Dropped[bfd.DropAddress] != 1 {
			t.Errorf("session drops %v", st.Stats.Dropped)
		}
		// TTL below 255 on a single-hop session is dropped.
		n.SetTTL(254)
		send(down, bfd.Meta{})
		synctest.Wait()
		st, _ = a.mux.Session(ctx, da)
		if st.Stats.Dropped[bfd.DropTTL] != 1 {
			t.Errorf("ttl drops %v", st.Stats.Dropped)
		}
		_ = other.Close()
		_ = raw.Close()
	})
}

func TestMuxFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		clk := bfdtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		n := bfdtest.NewNetwork()
		a := startMux(t, ctx, n, bfd.MuxConfig{Clock: clk, Rand: rand.NewPCG(0, 9)}, addrA)
		b := startMux(t, ctx, n, bfd.MuxConfig{Clock: clk, Rand: rand.NewPCG(1, 9)}, addrB)
		da, _ := a.mux.Add(ctx, bfd.SessionConfig{Peer: addrB})
		if _, err := b.mux.Add(ctx, bfd.SessionConfig{Peer: addrA}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		clk.Advance(5*time.Second, synctest.Wait)
		if c, _ := a.rec.last(da); c.To != bfd.StateUp {
			t.Fatalf("with fake clock: %+v", c)
		}
		if _, ok := clk.Next(); !ok {
			t.Error("no pending timer")
		}
	})
}

func TestMuxLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := bfdtest.NewNetwork()
		tr, _ := n.Listen(addrA)
		if _, err := bfd.NewMux(bfd.MuxConfig{}, nil); err == nil {
			t.Error("nil transport accepted")
		}
		m, _ := bfd.NewMux(bfd.MuxConfig{}, tr)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		if err := m.Run(ctx); err == nil {
			t.Error("second Run accepted")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		if _, err := m.Add(t.Context(), bfd.SessionConfig{Peer: addrB}); !errors.Is(err, bfd.ErrClosed) {
			t.Errorf("Add after Run = %v", err)
		}
		if _, err := m.Sessions(t.Context()); !errors.Is(err, bfd.ErrClosed) {
			t.Errorf("Sessions after Run = %v", err)
		}
		if err := tr.Close(); err == nil {
			t.Error("transport not closed by Run")
		}
		if err := m.Inject(t.Context(), 1, bfd.Event{Kind: bfd.EventPacket}); err == nil {
			t.Error("packet injection accepted")
		}
	})
}

// BenchmarkMuxMemoryPerSession reports the heap cost of one session held
// by a running Mux (sessions to peers that never answer: slow 1 s TX).
func BenchmarkMuxMemoryPerSession(b *testing.B) {
	const n = 10000
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		nw := bfdtest.NewNetwork()
		tr, _ := nw.Listen(addrA)
		m, _ := bfd.NewMux(bfd.MuxConfig{}, tr)
		done := make(chan struct{})
		go func() { _ = m.Run(ctx); close(done) }()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			peer := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if _, err := m.Add(ctx, bfd.SessionConfig{Peer: peer}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/session")
		cancel()
		<-done
	}
}

func TestMuxAuthenticated(t *testing.T) {
	for _, typ := range []bfd.AuthType{bfd.AuthSimplePassword, bfd.AuthKeyedMD5, bfd.AuthMeticulousKeyedSHA1} {
		t.Run(typ.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				n := bfdtest.NewNetwork()
				a := startMux(t, ctx, n, seeded(1), addrA)
				b := startMux(t, ctx, n, seeded(2), addrB)
				auth := bfd.AuthConfig{Type: typ, KeyID: 5, Key: []byte("s3cret")}
				cfg := bfd.Config{Auth: auth, DesiredMinTxInterval: 20 * time.Millisecond, RequiredMinRxInterval: 20 * time.Millisecond}
				da, _ := a.mux.Add(ctx, bfd.SessionConfig{Peer: addrB, Config: cfg})
				if _, err := b.mux.Add(ctx, bfd.SessionConfig{Peer: addrA, Config: cfg}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				st, _ := a.mux.Session(ctx, da)
				if st.State != bfd.StateUp || st.Stats.Transitions > 2 {
					t.Fatalf("state %v after %d transitions, drops %v", st.State, st.Stats.Transitions, st.Stats.Dropped)
				}
				var dropped uint64
				for _, d := range st.Stats.Dropped {
					dropped += d
				}
				if dropped != 0 {
					t.Errorf("drops %v", st.Stats.Dropped)
				}
			})
		})
	}
}

// TestMuxGoodbye: when Run ends, peers hear AdminDown and go Down with
// diagnostic 3 at once instead of waiting for the detection time.
func TestMuxGoodbye(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		ctxA, cancelA := context.WithCancel(ctx)
		n := bfdtest.NewNetwork()
		a := startMux(t, ctxA, n, seeded(1), addrA)
		events := make(chan bfd.StateChange, 1)
		b := startMux(t, ctx, n, bfd.MuxConfig{Events: events}, addrB)
		if _, err := a.mux.Add(ctx, bfd.SessionConfig{Peer: addrB}); err != nil {
			t.Fatal(err)
		}
		db, _ := b.mux.Add(ctx, bfd.SessionConfig{Peer: addrA})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		cancelA()
		synctest.Wait()
		// The channel has room for one change: the first is kept, the
		// Down after A's goodbye is dropped and counted.
		if c := <-events; c.Discriminator != db || (c.To != bfd.StateInit && c.To != bfd.StateUp) {
			t.Errorf("first event %+v", c)
		}
		if d := b.mux.Stats().EventsDropped; d == 0 {
			t.Error("no dropped event counted")
		}
		st, _ := b.mux.Session(ctx, db)
		if c := st.Status; c.State != bfd.StateDown || c.LocalDiag != bfd.DiagNeighborDown {
			t.Errorf("peer after Run ended: %+v", c)
		}
	})
}

// flakyTransport fails its first read, then blocks until closed.
type flakyTransport struct {
	once   sync.Once
	closed chan struct{}
}

func (f *flakyTransport) ReadFrom([]byte) (int, bfd.Meta, error) {
	failed := false
	f.once.Do(func() { failed = true })
	if failed {
		return 0, bfd.Meta{}, errors.New("boom")
	}
	<-f.closed
	return 0, bfd.Meta{}, net.ErrClosed
}
func (f *flakyTransport) WriteTo([]byte, bfd.Meta) error { return nil }
func (f *flakyTransport) Close() error                   { close(f.closed); return nil }

func TestMuxReadError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		m, _ := bfd.NewMux(bfd.MuxConfig{}, &flakyTransport{closed: make(chan struct{})})
		done := make(chan struct{})
		go func() { _ = m.Run(ctx); close(done) }()
		time.Sleep(time.Second)
		synctest.Wait()
		if n := m.Stats().ReadErrors; n != 1 {
			t.Errorf("read errors %d, want 1", n)
		}
		cancel()
		<-done
	})
}
