package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scripted is a Keyer checker whose results follow a script; it counts calls.
type scripted struct {
	key     string
	mu      sync.Mutex
	results []error // consumed in order; the last one repeats
	calls   atomic.Int64
}

func (s *scripted) CheckKey() any { return s.key }

func (s *scripted) Check(ctx context.Context) error {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[0]
	if len(s.results) > 1 {
		s.results = s.results[1:]
	}
	return r
}

// recorder collects transitions as "t=<seconds since start> from->to cause".
type recorder struct {
	start time.Time
	mu    sync.Mutex
	log   []string
}

func (r *recorder) on(tn Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf("t=%v %v->%v %s", tn.At.Sub(r.start).Round(time.Millisecond), tn.From, tn.To, tn.Cause))
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// runMonitor starts m.Run in the bubble and returns a stop function that
// cancels it and checks that it returned nil.
func runMonitor(t *testing.T, m *Monitor) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

var errBoom = errors.New("boom")

func TestMonitorTransitionsAndFanOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := NewMonitor(MonitorConfig{})
		c1 := &scripted{key: "a", results: []error{nil, errBoom, errBoom, nil}}
		c2 := &scripted{key: "a", results: []error{errBoom}} // same key: never run
		p := Policy{Interval: 10 * time.Second, Timeout: time.Second}
		r1, r2 := &recorder{start: start}, &recorder{start: start}
		if _, err := m.Add(Watch{Checker: c1, Policy: p, OnTransition: r1.on, Name: "a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Add(Watch{Checker: c2, Policy: p, OnTransition: r2.on}); err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		time.Sleep(35 * time.Second)
		synctest.Wait()
		stop()
		want := []string{"t=0s unknown->up initial", "t=10s up->down fall", "t=30s down->up rise"}
		if diff := cmp.Diff(want, r1.get()); diff != "" {
			t.Errorf("consumer 1 (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, r2.get()); diff != "" {
			t.Errorf("consumer 2 (-want +got):\n%s", diff)
		}
		if n := c1.calls.Load(); n != 4 {
			t.Errorf("shared check ran %d times, want 4", n)
		}
		if n := c2.calls.Load(); n != 0 {
			t.Errorf("duplicate check ran %d times", n)
		}
		st := m.Stats()
		if st.Targets != 1 || st.Subscribers != 2 || st.Checks != 4 || st.Failures != 2 || st.Transitions != 2 {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestMonitorDistinctPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{})
		c := &scripted{key: "a", results: []error{nil}}
		for _, iv := range []time.Duration{10 * time.Second, 10 * time.Second, 5 * time.Second} {
			if _, err := m.Add(Watch{Checker: c, Policy: Policy{Interval: iv}}); err != nil {
				t.Fatal(err)
			}
		}
		// A checker without a key is never shared.
		var plain atomic.Int64
		f := CheckerFunc(func(context.Context) error { plain.Add(1); return nil })
		for range 2 {
			if _, err := m.Add(Watch{Checker: f, Policy: Policy{Interval: 10 * time.Second}}); err != nil {
				t.Fatal(err)
			}
		}
		stop := runMonitor(t, m)
		time.Sleep(19 * time.Second)
		synctest.Wait()
		stop()
		// 10 s policy: checks at 0 and 10; 5 s policy: 0, 5, 10, 15.
		if n := c.calls.Load(); n != 6 {
			t.Errorf("keyed checks ran %d times, want 6", n)
		}
		if n := plain.Load(); n != 4 {
			t.Errorf("unkeyed checks ran %d times, want 4", n)
		}
		if st := m.Stats(); st.Targets != 4 {
			t.Errorf("Targets = %d, want 4", st.Targets)
		}
	})
}

func TestMonitorWarmupRetryTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var asked []int64
		m := NewMonitor(MonitorConfig{Rand: func(n int64) int64 { asked = append(asked, n); return n / 2 }})
		hang := CheckerFunc(func(ctx context.Context) error { <-ctx.Done(); return fail(ctx, "test", "x", ReasonUnknown, ctx.Err()) })
		r := &recorder{start: start}
		var reasons []Reason
		on := func(tn Transition) {
			r.on(tn)
			if tn.Err != nil {
				reasons = append(reasons, ReasonOf(tn.Err))
			}
		}
		p := Policy{Interval: 10 * time.Second, Timeout: 2 * time.Second, Warmup: 4 * time.Second, Retry: 1, DelayBeforeRetry: time.Second}
		if _, err := m.Add(Watch{Checker: hang, Policy: p, OnTransition: on}); err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		stop()
		// First check at 2 s (warmup draw 4s/2), times out at 4 s; retry at
		// 5 s times out at 7 s -> down.
		want := []string{"t=0s unknown->up initial", "t=7s up->down fall"}
		if diff := cmp.Diff(want, r.get()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{int64(4*time.Second) + 1}, asked); diff != "" {
			t.Errorf("Rand arguments (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]Reason{ReasonTimeout}, reasons); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
	})
}

func TestMonitorRemove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{})
		c := &scripted{key: "a", results: []error{nil}}
		p := Policy{Interval: 10 * time.Second}
		rm1, err := m.Add(Watch{Checker: c, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		rm2, err := m.Add(Watch{Checker: c, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		defer stop()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rm1()
		rm1() // idempotent
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := c.calls.Load(); n != 2 {
			t.Errorf("after removing one of two watches: %d checks, want 2", n)
		}
		if st := m.Stats(); st.Subscribers != 1 || st.Targets != 1 {
			t.Errorf("Stats = %+v", st)
		}
		rm2()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := c.calls.Load(); n != 2 {
			t.Errorf("after removing all watches: %d checks, want 2", n)
		}
		if st := m.Stats(); st.Subscribers != 0 || st.Targets != 0 {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestMonitorRemoveWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{MaxConcurrent: 1})
		release := make(chan struct{})
		var calls atomic.Int64
		slow := CheckerFunc(func(ctx context.Context) error {
			calls.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		p := Policy{Interval: time.Second, Timeout: time.Minute}
		rmA, _ := m.Add(Watch{Checker: slow, Policy: p})
		rmB, _ := m.Add(Watch{Checker: slow, Policy: p})
		stop := runMonitor(t, m)
		defer stop()
		synctest.Wait()
		if st := m.Stats(); st.InFlight != 1 || calls.Load() != 1 {
			t.Fatalf("InFlight %d calls %d, want 1 and 1", st.InFlight, calls.Load())
		}
		rmA() // one is running
		rmB() // the other is waiting for a slot
		synctest.Wait()
		close(release)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Errorf("%d checks ran, want 1", n)
		}
		if st := m.Stats(); st.InFlight != 0 || st.Targets != 0 {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestMonitorMaxConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{MaxConcurrent: 2})
		var cur, peak, total atomic.Int64
		c := CheckerFunc(func(ctx context.Context) error {
			n := cur.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			total.Add(1)
			time.Sleep(time.Second)
			cur.Add(-1)
			return nil
		})
		for range 5 {
			if _, err := m.Add(Watch{Checker: c, Policy: Policy{Interval: time.Minute}}); err != nil {
				t.Fatal(err)
			}
		}
		stop := runMonitor(t, m)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		stop()
		if peak.Load() != 2 || total.Load() != 5 {
			t.Errorf("peak %d total %d, want 2 and 5", peak.Load(), total.Load())
		}
	})
}

// weighted is a WeightChecker returning a fixed sequence of weights.
type weighted struct{ w []int }

func (w *weighted) Check(ctx context.Context) error { _, _, err := w.CheckWeight(ctx); return err }
func (w *weighted) CheckWeight(context.Context) (int, bool, error) {
	v := w.w[0]
	if len(w.w) > 1 {
		w.w = w.w[1:]
	}
	return v, true, nil
}

func TestMonitorWeights(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{})
		var got []int
		_, err := m.Add(Watch{Checker: &weighted{w: []int{3, 3, 8}}, Policy: Policy{Interval: time.Second},
			OnTransition: func(tn Transition) {
				if tn.Cause == CauseWeight {
					got = append(got, tn.Weight)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		stop()
		if diff := cmp.Diff([]int{3, 8}, got); diff != "" {
			t.Errorf("weights (-want +got):\n%s", diff)
		}
	})
}

// fakeClock is a manual Clock for the test below.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*int]fakeTimer
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := new(int)
	c.timers[id] = fakeTimer{c.now.Add(d), f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// Advance moves time forward and fires due timers.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for id, tm := range c.timers {
		if !tm.at.After(c.now) {
			due = append(due, tm.f)
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

func TestMonitorFakeClock(t *testing.T) {
	// The injected Clock alone drives scheduling: hours of fake time pass in
	// no real time. synctest.Wait gives quiescence.
	synctest.Test(t, func(t *testing.T) {
		clk := &fakeClock{now: time.Unix(0, 0), timers: map[*int]fakeTimer{}}
		m := NewMonitor(MonitorConfig{Clock: clk})
		c := &scripted{key: "x", results: []error{nil}}
		if _, err := m.Add(Watch{Checker: c, Policy: Policy{Interval: time.Hour}}); err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		defer stop()
		for range 5 {
			synctest.Wait()
			clk.Advance(time.Hour)
		}
		synctest.Wait()
		if n := c.calls.Load(); n != 6 {
			t.Errorf("%d checks in 5 fake hours, want 6", n)
		}
	})
}

func TestMonitorErrors(t *testing.T) {
	m := NewMonitor(MonitorConfig{})
	if _, err := m.Add(Watch{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil checker: %v", err)
	}
	if _, err := m.Add(Watch{Checker: CheckerFunc(nil), Policy: Policy{Retry: -1}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad policy: %v", err)
	}
	if _, err := m.Add(Watch{Checker: CheckerFunc(nil), Key: []int{1}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("non-comparable key: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Errorf("Run = %v", err)
	}
	if err := m.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
	if _, err := m.Add(Watch{Checker: CheckerFunc(nil)}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Run: %v", err)
	}
}

func TestMonitorCallbackMayAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{})
		var added atomic.Int64
		var second func()
		c := &scripted{key: "a", results: []error{errBoom}}
		_, err := m.Add(Watch{Checker: c, Policy: Policy{Interval: time.Minute}, OnTransition: func(tn Transition) {
			if tn.Cause == CauseFall && second == nil {
				second, _ = m.Add(Watch{Checker: c, Policy: Policy{Interval: time.Minute},
					OnTransition: func(Transition) { added.Add(1) }})
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		time.Sleep(time.Second)
		synctest.Wait()
		if added.Load() != 1 {
			t.Errorf("watch added from a callback got %d events, want 1 (its initial state)", added.Load())
		}
		second()
		stop()
	})
}

func TestMonitorManyTargetsChurn(t *testing.T) {
	// 300 watches over 60 keys (each with its own interval); a third are
	// removed midway.
	// Every remaining target must keep its cadence and the counts must add
	// up.
	synctest.Test(t, func(t *testing.T) {
		m := NewMonitor(MonitorConfig{Rand: func(n int64) int64 { return n / 3 }})
		type target struct {
			key   string
			iv    time.Duration
			calls atomic.Int64
		}
		targets := map[string]*target{}
		var removes []func()
		for i := range 300 {
			iv := time.Duration(1+i%3) * time.Second
			key := fmt.Sprintf("k%d", i%60)
			tk := key + "/" + iv.String()
			tg := targets[tk]
			if tg == nil {
				tg = &target{key: key, iv: iv}
				targets[tk] = tg
			}
			c := CheckerFunc(func(context.Context) error { tg.calls.Add(1); return nil })
			rm, err := m.Add(Watch{Checker: c, Key: key, Policy: Policy{Interval: iv, Warmup: iv}})
			if err != nil {
				t.Fatal(err)
			}
			removes = append(removes, rm)
		}
		// checkCadence zeroes the counts, lets 60 s pass and checks that
		// every target ran once per interval, or not at all when gone.
		checkCadence := func(gone func(*target) bool) {
			t.Helper()
			for _, tg := range targets {
				tg.calls.Store(0)
			}
			time.Sleep(60 * time.Second)
			synctest.Wait()
			for _, tg := range targets {
				want := int64(60 * time.Second / tg.iv)
				if gone(tg) {
					want = 0
				}
				if n := tg.calls.Load(); n < want-1 || n > want+1 {
					t.Errorf("%s every %v: %d checks in 60 s, want about %d", tg.key, tg.iv, n, want)
				}
			}
		}
		stop := runMonitor(t, m)
		defer stop()
		synctest.Wait()
		if st := m.Stats(); st.Targets != len(targets) || st.Subscribers != 300 {
			t.Fatalf("Stats = %+v, want %d targets", st, len(targets))
		}
		for _, rm := range removes[:100] { // every key keeps at least 3 watches
			rm()
		}
		synctest.Wait()
		if st := m.Stats(); st.Subscribers != 200 || st.Targets != len(targets) {
			t.Fatalf("after removals Stats = %+v", st)
		}
		checkCadence(func(*target) bool { return false })
		// Remove whole targets (keys whose interval is 1 s): the heap
		// loses entries from arbitrary positions.
		for i := 100; i < 300; i++ {
			if i%3 == 0 {
				removes[i]()
			}
		}
		synctest.Wait()
		if st := m.Stats(); st.Targets != 40 || st.Subscribers != 200-200/3 {
			t.Fatalf("after removing targets Stats = %+v", st)
		}
		checkCadence(func(tg *target) bool { return tg.iv == time.Second })
	})
}

func TestMonitorTCPEndToEnd(t *testing.T) {
	// Real clock and sockets: a listener goes away and comes back on the
	// same port; two consumers of the same check see down, then up.
	l := listenTCP(t, "tcp4")
	addr := addrPort(t, l.Addr())
	serve(t, l, func(net.Conn) {})
	m := NewMonitor(MonitorConfig{})
	events := make(chan string, 16)
	for _, who := range []string{"a", "b"} {
		_, err := m.Add(Watch{Checker: TCP{Addr: addr}, Policy: Policy{Interval: 20 * time.Millisecond, Timeout: time.Second},
			OnTransition: func(tn Transition) { events <- who + " " + tn.To.String() + " " + ReasonOf(tn.Err).String() }})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	expect := func(want ...string) {
		t.Helper()
		var got []string
		for range want {
			select {
			case e := <-events:
				got = append(got, e)
			case <-time.After(10 * time.Second):
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
	}
	expect("a up unknown", "b up unknown")
	l.Close()
	expect("a down connect", "b down connect")
	l2, err := net.Listen("tcp4", addr.String())
	if err != nil {
		t.Skipf("port %v taken meanwhile: %v", addr, err)
	}
	serve(t, l2, func(net.Conn) {})
	expect("a up unknown", "b up unknown")
}
