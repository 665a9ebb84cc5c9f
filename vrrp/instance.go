package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// ErrRunning is returned by Run when the Instance is already running or
// has run.
var ErrRunning = errors.New("vrrp: instance already run")

// Instance runs one VRRP virtual router: a [Machine] driven by a
// [Transport] and a [Clock]. It owns one loop goroutine, which runs the
// Machine, its single timer and the OnTransition hook, and one reader
// goroutine. Methods may be called from any goroutine, including from
// OnTransition; mutators are applied on the loop, in order.
type Instance struct {
	tr    Transport
	clock Clock
	log   *slog.Logger
	m     *Machine // owned by the loop once Run starts

	mu       sync.Mutex // guards the fields below
	queue    []func()
	ran      bool
	state    State
	stats    Stats
	prio     uint8
	master   netip.Addr
	accept   bool
	onTrans  func(Transition)
	onLower  func(PeerAdvert)
	readErrs uint64
	sendErrs uint64
	drained  uint64
	watchers []*watcher

	// Immutable after New.
	name    string
	vrid    uint8
	version int
	is4     bool

	wake  chan struct{}
	ended chan struct{} // closed when Run has returned
	group *SyncGroup
	index int
}

// New returns an Instance for cfg that sends and receives through tr.
// Run starts it; Run closes tr when it returns. If tr is a
// [BoundTransport] (as [Conn.Transport]'s are), cfg.VRID and cfg.Source
// must match it; a zero cfg.Source is taken from it.
func New(cfg Config, tr Transport) (*Instance, error) {
	if tr == nil {
		return nil, fmt.Errorf("vrrp: nil transport: %w", ErrInvalidConfig)
	}
	if err := checkBound(&cfg, tr); err != nil {
		return nil, err
	}
	m, err := NewMachine(cfg)
	if err != nil {
		return nil, err
	}
	i := &Instance{
		tr:      tr,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		m:       m,
		prio:    m.Priority(),
		accept:  cfg.Accept,
		onTrans: cfg.OnTransition,
		onLower: cfg.OnLowerPriority,
		wake:    make(chan struct{}, 1),
		ended:   make(chan struct{}),
		name:    m.cfg.Name,
		vrid:    m.cfg.VRID,
		version: m.cfg.Version,
		is4:     m.cfg.is4(),
	}
	if i.clock == nil {
		i.clock = realClock{}
	}
	if i.log == nil {
		i.log = slog.New(slog.DiscardHandler)
	}
	i.log = i.log.With("instance", m.cfg.Name, "vrid", int(m.cfg.VRID))
	return i, nil
}

// Name returns the configured instance name.
func (i *Instance) Name() string { return i.name }

// VRID returns the virtual router identifier.
func (i *Instance) VRID() uint8 { return i.vrid }

// State returns the current state.
func (i *Instance) State() State {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.state
}

// Priority returns the current effective priority.
func (i *Instance) Priority() uint8 {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.prio
}

// Master returns the address of the master this instance last heard
// while BACKUP (see [Machine.Master]), or the invalid address.
func (i *Instance) Master() netip.Addr {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.master
}

// ReportMasterDown tells the instance that the master at addr is gone
// (for example, because a BFD session to it went down). A BACKUP whose last
// heard master is addr takes over at once, as if its master down timer had
// expired, instead of Master_Down_Interval after the master's last
// advertisement; a hint naming another address, or arriving while not
// BACKUP, is ignored and counted (Stats.MasterDownHints,
// Stats.MasterDownHintsIgnored). A false hint (the master is alive) costs
// one short MASTER period: the master answers with its higher priority
// within one advertisement interval and this instance steps down. It is
// applied on the loop and never blocks.
func (i *Instance) ReportMasterDown(addr netip.Addr) {
	i.post(func(now time.Time) { i.handle(now, Event{Kind: EventMasterDown, Addr: addr}) })
}

// Accept reports the configured VRRPv3 Accept_Mode.
func (i *Instance) Accept() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.accept
}

// Stats returns a snapshot of the counters.
func (i *Instance) Stats() Stats {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := i.stats
	s.ReadErrors += i.readErrs
	s.SendErrors += i.sendErrs
	s.DrainedBeforeTimer += i.drained
	return s
}

// SetPriority sets the base priority (1-255). The change is applied on the
// loop and, if MASTER, advertised at once.
func (i *Instance) SetPriority(p uint8) {
	i.post(func(now time.Time) { i.handle(now, Event{Kind: EventPriority, Priority: p}) })
}

// SetTracked sets the state of the tracked object name (see
// [TrackedObject]). Unknown names are ignored.
func (i *Instance) SetTracked(name string, up bool) {
	i.post(func(now time.Time) { i.handle(now, Event{Kind: EventTrack, Name: name, Up: up}) })
}

// Update applies a new configuration on the loop without a spurious
// transition (see [Machine.Update]). It returns an error at once if cfg is
// invalid or changes the VRID, version or address family, or does not
// match a [BoundTransport]; Clock and Logger are not changed;
// OnTransition and OnLowerPriority are.
func (i *Instance) Update(cfg Config) error {
	if err := checkBound(&cfg, i.tr); err != nil {
		return err
	}
	n, err := cfg.normalize()
	if err != nil {
		return err
	}
	if n.VRID != i.vrid || n.Version != i.version || n.Source.Is4() != i.is4 {
		return fmt.Errorf("vrrp: update of VRID, version or family: %w", ErrReconfigure)
	}
	i.post(func(now time.Time) {
		acts, err := i.m.Update(now, n)
		if err != nil {
			i.log.Warn("update rejected", "err", err)
			return
		}
		i.mu.Lock()
		i.onTrans = cfg.OnTransition
		i.onLower = cfg.OnLowerPriority
		i.accept = n.Accept
		i.mu.Unlock()
		i.perform(acts)
	})
	return nil
}

// watcher is the queue behind one Watch channel.
type watcher struct {
	mu   sync.Mutex
	q    []Transition
	wake chan struct{} // capacity 1
}

// Watch returns a channel that receives every transition of the instance
// from now on, in order, none dropped, including the final one to STOP.
// The instance never waits for the reader: transitions queue without
// bound until read (they are rare: a handful per failover). The channel is
// closed once Run has returned and every queued transition has been
// received, or when ctx is done (queued transitions are then discarded);
// the goroutine that feeds it ends then. Call Watch before Run so as not
// to miss the first transition, and pass a ctx that outlives Run (e.g.
// context.Background()) to receive the STOP transition.
//
// A reader that stops reading before the channel is closed must cancel
// ctx to release the goroutine. Any number of watchers may be active;
// Watch may be called from any goroutine, including from the hooks.
func (i *Instance) Watch(ctx context.Context) <-chan Transition {
	w := &watcher{wake: make(chan struct{}, 1)}
	ch := make(chan Transition)
	i.mu.Lock()
	i.watchers = append(i.watchers, w)
	i.mu.Unlock()
	go func() {
		defer close(ch)
		defer i.removeWatcher(w)
		ended := false
		for {
			w.mu.Lock()
			q := w.q
			w.q = nil
			w.mu.Unlock()
			for _, t := range q {
				select {
				case ch <- t:
				case <-ctx.Done():
					return
				}
			}
			if len(q) > 0 {
				continue
			}
			if ended {
				return // Run has returned and the queue is empty
			}
			select {
			case <-w.wake:
			case <-i.ended:
				ended = true // one more pass for what Run queued last
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

func (i *Instance) removeWatcher(w *watcher) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for n, x := range i.watchers {
		if x == w {
			// A new slice: notifyWatchers may be ranging over the old one.
			i.watchers = slices.Concat(i.watchers[:n], i.watchers[n+1:])
			return
		}
	}
}

// notifyWatchers queues t for every Watch channel; it never blocks.
func (i *Instance) notifyWatchers(t Transition) {
	i.mu.Lock()
	ws := i.watchers
	i.mu.Unlock()
	for _, w := range ws {
		w.mu.Lock()
		w.q = append(w.q, t)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// post queues f to run on the loop. It never blocks.
func (i *Instance) post(f func(now time.Time)) {
	i.mu.Lock()
	i.queue = append(i.queue, func() { f(i.clock.Now()) })
	i.mu.Unlock()
	select {
	case i.wake <- struct{}{}:
	default:
	}
}

type loopPacket struct {
	n    int
	meta Meta
}

// Run runs the instance until ctx is done, then stops it (a MASTER sends a
// priority-0 advertisement), closes the transport, waits for its
// goroutines and returns nil. It returns an error only if the Instance has
// already run.
func (i *Instance) Run(ctx context.Context) error {
	i.mu.Lock()
	if i.ran {
		i.mu.Unlock()
		return ErrRunning
	}
	i.ran = true
	i.mu.Unlock()

	defer close(i.ended) // after the deferred shutdown below
	done := make(chan struct{})
	pkts := make(chan loopPacket)
	ack := make(chan struct{})
	buf := make([]byte, 65536)
	var pbuf []byte // for PendingReader
	if _, ok := i.tr.(PendingReader); ok {
		pbuf = make([]byte, 65536)
	}
	var wg sync.WaitGroup
	wg.Go(func() { i.read(buf, pkts, ack, done) })

	fired := make(chan struct{}, 1)
	var (
		armed time.Time
		stop  func() bool
	)
	defer func() {
		if stop != nil {
			stop()
		}
		close(done)
		if err := i.tr.Close(); err != nil {
			i.log.Debug("close transport", "err", err)
		}
		wg.Wait()
	}()

	i.runQueue()
	i.handle(i.clock.Now(), Event{Kind: EventStart})
	for {
		i.runQueue()
		if d := i.m.NextDeadline(); d != armed {
			if stop != nil {
				stop()
				stop = nil
			}
			armed = d
			if !d.IsZero() {
				stop = i.clock.AfterFunc(d.Sub(i.clock.Now()), func() {
					select {
					case fired <- struct{}{}:
					default:
					}
				})
			}
		}
		select {
		case <-ctx.Done():
			i.runQueue()
			i.handle(i.clock.Now(), Event{Kind: EventStop})
			return nil
		case <-i.wake:
		case p := <-pkts:
			i.handle(i.clock.Now(), Event{Kind: EventPacket, Payload: buf[:p.n], Meta: p.meta})
			ack <- struct{}{}
		case <-fired:
			armed = time.Time{}
			i.drain(buf, pbuf, pkts, ack)
			i.handle(i.clock.Now(), Event{Kind: EventTimer})
		}
	}
}

// maxDrain bounds the packets processed before one timer event, so that a
// flood cannot hold the timer off for ever.
const maxDrain = 1024

// drain processes the packets already received before a timer event: the
// one the reader goroutine holds, if any, then those the transport has
// queued ([PendingReader]).
func (i *Instance) drain(buf, pbuf []byte, pkts <-chan loopPacket, ack chan<- struct{}) {
	n := uint64(0)
	select {
	case p := <-pkts:
		i.handle(i.clock.Now(), Event{Kind: EventPacket, Payload: buf[:p.n], Meta: p.meta})
		ack <- struct{}{}
		n++
	default:
	}
	if pr, ok := i.tr.(PendingReader); ok {
		for n < maxDrain {
			k, meta, ok := pr.ReadPending(pbuf)
			if !ok {
				break
			}
			i.handle(i.clock.Now(), Event{Kind: EventPacket, Payload: pbuf[:k], Meta: meta})
			n++
		}
	}
	if n > 0 {
		i.mu.Lock()
		i.drained += n
		i.mu.Unlock()
	}
}

func (i *Instance) runQueue() {
	for {
		i.mu.Lock()
		q := i.queue
		i.queue = nil
		i.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// read is the reader goroutine: it hands each packet to the loop and waits
// until the loop is done with the buffer.
func (i *Instance) read(buf []byte, pkts chan<- loopPacket, ack <-chan struct{}, done <-chan struct{}) {
	fails := 0
	for {
		n, meta, err := i.tr.ReadFrom(buf)
		if err != nil {
			select {
			case <-done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				i.log.Warn("transport closed under a running instance; no more advertisements will be received", "err", err)
				return
			}
			i.mu.Lock()
			i.readErrs++
			i.mu.Unlock()
			fails++
			if fails > 1 && !i.backoff(fails, done) {
				return
			}
			continue
		}
		fails = 0
		select {
		case pkts <- loopPacket{n: n, meta: meta}:
		case <-done:
			return
		}
		select {
		case <-ack:
		case <-done:
			return
		}
	}
}

// backoff waits after repeated read errors; it reports false if the
// instance is stopping.
func (i *Instance) backoff(fails int, done <-chan struct{}) bool {
	d := min(time.Second, time.Millisecond<<min(fails, 10))
	ch := make(chan struct{})
	stop := i.clock.AfterFunc(d, func() { close(ch) })
	defer stop()
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

// handle runs one event through the machine and performs the actions.
func (i *Instance) handle(now time.Time, ev Event) {
	if ev.Kind != EventPacket {
		i.perform(i.m.Handle(now, ev))
		return
	}
	before := i.m.stats.Drops
	mismatch := i.m.stats.AddrMismatch
	i.perform(i.m.Handle(now, ev))
	if n := i.m.stats.AddrMismatch; n != mismatch && n&(n-1) == 0 {
		// Logged at 1, 2, 4, 8, ... mismatches: visible, never a flood.
		i.log.Warn("advertisement address list differs from ours", "peer", ev.Meta.Src, "count", n)
	}
	if i.log.Enabled(context.Background(), slog.LevelDebug) {
		for r, n := range i.m.stats.Drops {
			if n != before[r] {
				i.log.Debug("dropped advertisement", "peer", ev.Meta.Src, "reason", DropReason(r).String())
			}
		}
	}
}

func (i *Instance) perform(acts []Action) {
	for _, a := range acts {
		switch a.Kind {
		case ActionSend:
			if err := i.tr.WriteTo(a.Payload, a.Dst); err != nil {
				i.mu.Lock()
				i.sendErrs++
				i.mu.Unlock()
				i.log.Debug("send advert", "peer", a.Dst, "err", err)
			}
		case ActionTransition:
			t := a.Transition
			i.mu.Lock()
			i.state = t.To
			hook := i.onTrans
			i.mu.Unlock()
			i.log.Info("transition", "from", t.From.String(), "to", t.To.String(), "reason", t.Reason.String(), "priority", int(t.Priority))
			i.notifyWatchers(t)
			if hook != nil {
				hook(t)
			}
		case ActionLowerPriority:
			i.mu.Lock()
			hook := i.onLower
			i.mu.Unlock()
			i.log.Debug("lower-priority advertisement", "peer", a.Advert.From, "priority", int(a.Advert.Priority))
			if hook != nil {
				hook(a.Advert)
			}
		}
		if i.group != nil {
			i.group.propagate(i.index, a)
		}
	}
	i.mu.Lock()
	i.stats = i.m.Stats()
	i.prio = i.m.Priority()
	i.master = i.m.Master()
	i.mu.Unlock()
}

// SyncGroup makes Instances move together (keepalived's vrrp_sync_group):
// see [Group] for the rules.
type SyncGroup struct {
	mu      sync.Mutex
	core    *Group
	members []*Instance
}

// NewSyncGroup joins members into a sync group. It must be called before
// any member runs; an Instance can be in one group only.
func NewSyncGroup(members ...*Instance) (*SyncGroup, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("vrrp: empty sync group: %w", ErrInvalidConfig)
	}
	g := &SyncGroup{core: NewGroup(len(members)), members: members}
	for n, m := range members {
		m.mu.Lock()
		bad := m.ran || m.group != nil
		if !bad {
			m.group, m.index = g, n
		}
		m.mu.Unlock()
		if bad {
			return nil, fmt.Errorf("vrrp: instance %d already running or in a sync group: %w", n, ErrInvalidConfig)
		}
	}
	for _, m := range members {
		m.post(func(now time.Time) { m.handle(now, Event{Kind: EventJoinGroup}) })
	}
	return g, nil
}

func (g *SyncGroup) propagate(member int, a Action) {
	if a.Kind != ActionTransition && a.Kind != ActionFaultChange && a.Kind != ActionWantMaster {
		return
	}
	g.mu.Lock()
	ev, ok := g.core.Propagate(member, a)
	g.mu.Unlock()
	if !ok {
		return
	}
	for _, m := range g.members {
		m.post(func(now time.Time) { m.handle(now, ev) })
	}
}
