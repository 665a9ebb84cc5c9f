package check

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the source of time of a Monitor. Its shape is shared by the
// suite's packages so one fake serves them all.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d; stop cancels the
	// call and reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// DefaultMaxConcurrent is the default bound on checks in flight.
const DefaultMaxConcurrent = 4096

// MonitorConfig configures a Monitor. The zero value is valid.
type MonitorConfig struct {
	// Clock schedules checks. If nil, the real clock. Check timeouts
	// (Policy.Timeout) use context deadlines on the real clock, or the
	// fake one inside a testing/synctest bubble.
	Clock Clock
	// Logger receives transitions (Info) and check failures (Debug). If
	// nil, nothing is logged.
	Logger *slog.Logger
	// Rand returns a random number in [0, n) for warmup delays. If nil,
	// math/rand/v2's Int64N.
	Rand func(n int64) int64
	// MaxConcurrent bounds the checks in flight; due checks beyond it wait
	// in order. If zero, DefaultMaxConcurrent.
	MaxConcurrent int
}

// Watch asks a Monitor to check a target and report its transitions.
type Watch struct {
	// Checker is the check. Required.
	Checker Checker
	// Policy schedules it.
	Policy Policy
	// Key, if non-nil, must be comparable and overrides the checker's
	// CheckKey. Watches with equal keys and equal policies share one
	// check. A checker without a key (not a Keyer) is never shared.
	Key any
	// Name labels the target in logs. Optional.
	Name string
	// OnTransition receives the target's current state at once (Cause
	// CauseInitial) and then every transition, in the order watches were
	// added. It runs on the Monitor's loop goroutine and must return
	// quickly; it may call Add and remove functions, which take effect
	// afterwards.
	OnTransition func(Transition)
}

// MonitorStats is a snapshot of a Monitor's counters.
type MonitorStats struct {
	Targets     int    // distinct checks scheduled
	Subscribers int    // watches
	InFlight    int    // checks running now
	Checks      uint64 // checks completed
	Failures    uint64 // checks that failed
	Transitions uint64 // transitions delivered (counted once per target)
}

// Monitor runs checks on schedule and reports transitions. Checks of the
// same target with identical parameters run once and fan out to every
// watch. All state is owned by one loop goroutine (Run); checks run in their
// own goroutines, at most MaxConcurrent at a time.
type Monitor struct {
	clock  Clock
	log    *slog.Logger
	rand   func(int64) int64
	maxC   int
	tick   chan struct{}
	wake   chan struct{}
	result chan result

	mu      sync.Mutex
	ops     []func()
	running bool
	closed  bool

	// loop-owned
	groups  map[groupKey]*group
	queue   groupHeap
	waiting []*group
	armed   time.Time
	stopT   func() bool
	nextSub uint64

	targets, subs, inflight     atomic.Int64
	checks, failures, nTransits atomic.Uint64
}

type groupKey struct {
	key    any
	policy Policy
}

type group struct {
	key     groupKey
	name    string
	checker Checker
	tr      *Tracker
	subs    []sub // in subscription order
	index   int   // in the heap, -1 if absent
	gone    bool
	stopN   func() // stops the Notifier's callbacks, if any
}

type sub struct {
	id uint64
	f  func(Transition)
}

type result struct {
	g       *group
	err     error
	weight  int
	dynamic bool
}

// NewMonitor returns a Monitor; start it with Run.
func NewMonitor(cfg MonitorConfig) *Monitor {
	m := &Monitor{clock: cfg.Clock, log: cfg.Logger, rand: cfg.Rand, maxC: cfg.MaxConcurrent,
		tick: make(chan struct{}, 1), wake: make(chan struct{}, 1), result: make(chan result, 64),
		groups: make(map[groupKey]*group)}
	if m.clock == nil {
		m.clock = realClock{}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.rand == nil {
		m.rand = rand.Int64N
	}
	if m.maxC <= 0 {
		m.maxC = DefaultMaxConcurrent
	}
	return m
}

// Add starts watching. It may be called before or while Run runs; the
// returned remove function stops this watch (and the check, when it was
// the last watch of its target). remove is idempotent.
func (m *Monitor) Add(w Watch) (remove func(), err error) {
	if w.Checker == nil {
		return nil, fmt.Errorf("check: watch without checker: %w", ErrInvalidConfig)
	}
	if err := w.Policy.Validate(); err != nil {
		return nil, err
	}
	key := w.Key
	if key == nil {
		if k, ok := w.Checker.(Keyer); ok {
			key = k.CheckKey()
		}
	}
	if key == nil {
		key = new(byte) // unique
	} else if !reflect.ValueOf(key).Comparable() {
		return nil, fmt.Errorf("check: watch key of type %T is not comparable: %w", key, ErrInvalidConfig)
	}
	gk := groupKey{key: key, policy: w.Policy.withDefaults()}
	var id uint64
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("check: monitor stopped: %w", ErrClosed)
	}
	m.enqueueLocked(func() { id = m.subscribe(gk, w) })
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if !m.closed {
				m.enqueueLocked(func() { m.unsubscribe(gk, id) })
			}
		})
	}, nil
}

func (m *Monitor) enqueueLocked(op func()) {
	m.ops = append(m.ops, op)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the counters.
func (m *Monitor) Stats() MonitorStats {
	return MonitorStats{Targets: int(m.targets.Load()), Subscribers: int(m.subs.Load()), InFlight: int(m.inflight.Load()),
		Checks: m.checks.Load(), Failures: m.failures.Load(), Transitions: m.nTransits.Load()}
}

// Run runs the monitor until ctx is done, then waits for running checks to
// return (their contexts are canceled) and returns nil. Run may be called
// only once.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running || m.closed {
		m.mu.Unlock()
		return errors.New("check: monitor already ran")
	}
	m.running = true
	m.mu.Unlock()

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		m.mu.Lock()
		m.closed = true
		m.ops = nil
		m.mu.Unlock()
		for _, g := range m.groups {
			if g.stopN != nil {
				g.stopN()
			}
		}
		if m.stopT != nil {
			m.stopT()
		}
		cancel()
		wg.Wait()
		m.inflight.Store(0) // results of canceled checks are dropped
	}()
	for {
		m.applyOps()
		now := m.clock.Now()
		for len(m.queue) > 0 && !m.queue[0].tr.NextDeadline().After(now) {
			g := heap.Pop(&m.queue).(*group)
			if g.tr.Begin(now) {
				m.waiting = append(m.waiting, g)
			}
		}
		for len(m.waiting) > 0 && int(m.inflight.Load()) < m.maxC {
			g := m.waiting[0]
			m.waiting[0] = nil
			m.waiting = m.waiting[1:]
			m.start(runCtx, &wg, g)
		}
		m.arm(now)
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-m.tick:
			// A timer fired: re-arm even if the earliest deadline is
			// unchanged (a Clock may fire a little early). stopT is kept:
			// the tick may come from a timer already replaced, and the
			// current one must still be stopped when it is.
			m.armed = time.Time{}
		case r := <-m.result:
			m.finish(r)
			// Drain what else is ready without re-arming the timer.
			for more := true; more; {
				select {
				case r := <-m.result:
					m.finish(r)
				default:
					more = false
				}
			}
		}
	}
}

func (m *Monitor) applyOps() {
	m.mu.Lock()
	ops := m.ops
	m.ops = nil
	m.mu.Unlock()
	for _, op := range ops {
		op()
	}
}

// arm sets the timer to the earliest deadline.
func (m *Monitor) arm(now time.Time) {
	var next time.Time
	if len(m.queue) > 0 {
		next = m.queue[0].tr.NextDeadline()
	}
	if next.Equal(m.armed) {
		return
	}
	if m.stopT != nil {
		m.stopT()
		m.stopT = nil
	}
	m.armed = next
	if next.IsZero() {
		return
	}
	m.stopT = m.clock.AfterFunc(max(next.Sub(now), 0), func() {
		select {
		case m.tick <- struct{}{}:
		default:
		}
	})
}

func (m *Monitor) start(ctx context.Context, wg *sync.WaitGroup, g *group) {
	m.inflight.Add(1)
	timeout := g.tr.Policy().Timeout
	c := g.checker
	wg.Go(func() {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		var r result
		r.g = g
		if wc, ok := c.(WeightChecker); ok {
			r.weight, r.dynamic, r.err = wc.CheckWeight(cctx)
		} else {
			r.err = c.Check(cctx)
		}
		cancel()
		select {
		case m.result <- r:
		case <-ctx.Done():
		}
	})
}

func (m *Monitor) finish(r result) {
	m.inflight.Add(-1)
	m.checks.Add(1)
	g := r.g
	if r.err != nil {
		m.failures.Add(1)
		if m.log.Enabled(context.Background(), slog.LevelDebug) {
			m.log.Debug("check failed", "target", g.name, "reason", ReasonOf(r.err).String(), "err", r.err)
		}
	}
	if g.gone {
		return
	}
	now := m.clock.Now()
	t, changed := g.tr.Result(now, r.err, r.weight, r.dynamic)
	heap.Push(&m.queue, g)
	if !changed {
		return
	}
	m.nTransits.Add(1)
	m.log.Info("check transition", "target", g.name, "from", t.From.String(), "to", t.To.String(), "reason", t.Cause.String(), "err", t.Err)
	for _, s := range g.subs {
		if s.f != nil {
			s.f(t)
		}
	}
}

func (m *Monitor) subscribe(gk groupKey, w Watch) uint64 {
	g := m.groups[gk]
	now := m.clock.Now()
	if g == nil {
		var jitter time.Duration
		if wu := gk.policy.Warmup; wu > 0 {
			jitter = time.Duration(m.rand(int64(wu) + 1))
		}
		tr, _ := NewTracker(gk.policy, now, jitter) // policy validated in Add
		g = &group{key: gk, name: w.Name, checker: w.Checker, tr: tr, index: -1}
		if g.name == "" {
			g.name = fmt.Sprint(gk.key)
		}
		if n, ok := w.Checker.(Notifier); ok {
			g.stopN = n.Notify(func() { m.notified(g) })
		}
		m.groups[gk] = g
		m.targets.Add(1)
		heap.Push(&m.queue, g)
	}
	m.nextSub++
	id := m.nextSub
	g.subs = append(g.subs, sub{id, w.OnTransition})
	m.subs.Add(1)
	if w.OnTransition != nil {
		w.OnTransition(g.tr.Current(now))
	}
	return id
}

func (m *Monitor) unsubscribe(gk groupKey, id uint64) {
	g := m.groups[gk]
	if g == nil {
		return
	}
	i := slices.IndexFunc(g.subs, func(s sub) bool { return s.id == id })
	if i < 0 {
		return
	}
	g.subs = slices.Delete(g.subs, i, i+1)
	m.subs.Add(-1)
	if len(g.subs) > 0 {
		return
	}
	delete(m.groups, gk)
	m.targets.Add(-1)
	g.gone = true
	if g.stopN != nil {
		g.stopN()
	}
	if g.index >= 0 {
		heap.Remove(&m.queue, g.index)
	}
	for i, w := range m.waiting {
		if w == g {
			m.waiting = append(m.waiting[:i], m.waiting[i+1:]...)
			break
		}
	}
}

// notified runs on a Notifier's goroutine: it asks the loop to check g now.
func (m *Monitor) notified(g *group) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.enqueueLocked(func() {
		if g.gone {
			return
		}
		g.tr.Trigger(m.clock.Now())
		if g.index >= 0 {
			heap.Fix(&m.queue, g.index)
		}
	})
}

// groupHeap orders groups by next deadline.
type groupHeap []*group

func (h groupHeap) Len() int { return len(h) }
func (h groupHeap) Less(i, j int) bool {
	return h[i].tr.NextDeadline().Before(h[j].tr.NextDeadline())
}
func (h groupHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *groupHeap) Push(x any) {
	g := x.(*group)
	g.index = len(*h)
	*h = append(*h, g)
}
func (h *groupHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	g.index = -1
	*h = old[:len(old)-1]
	return g
}
