package bfd

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by [Mux] methods after Run has returned, and by
// transports after Close.
var ErrClosed = net.ErrClosed

// ErrNotSupported is wrapped by the errors of the Linux transport on other
// systems. It matches [errors.ErrUnsupported].
var ErrNotSupported error = notSupported{}

type notSupported struct{}

func (notSupported) Error() string { return "not supported on this system" }
func (notSupported) Unwrap() error { return errors.ErrUnsupported }

// errMuxClosed is the error of Mux methods once Run has returned.
var errMuxClosed = fmt.Errorf("bfd: mux stopped: %w", ErrClosed)

// readErrorBackoff is the pause after a failed read, so a persistent
// error cannot make a reader spin.
const readErrorBackoff = 10 * time.Millisecond

// ErrNoSession is returned for an unknown discriminator.
var ErrNoSession = errors.New("bfd: no such session")

// Clock is the source of time of a [Mux]. It uses only standard types so
// one fake serves every package of the suite.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once, in its own goroutine, after d. stop cancels
	// the call and reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Meta describes a datagram: for ReadFrom where it came from, for WriteTo
// where it goes.
type Meta struct {
	// Peer is the remote address (source on receive, destination on send).
	Peer netip.Addr
	// Local is the local address (destination on receive, source on send;
	// invalid lets the system choose).
	Local netip.Addr
	// IfIndex is the interface index (0: any).
	IfIndex int
	// TTL is the received TTL or hop limit (0: unknown). Ignored on send:
	// transports always send with 255.
	TTL uint8
	// MultiHop selects UDP port 4784 (RFC 5883) instead of 3784.
	MultiHop bool
}

// Transport carries BFD control packets. One transport serves every
// session of a [Mux].
type Transport interface {
	// ReadFrom reads one datagram into b. It returns an error wrapping
	// [ErrClosed] once Close was called.
	ReadFrom(b []byte) (int, Meta, error)
	// WriteTo sends b as described by m.
	WriteTo(b []byte, m Meta) error
	// Close unblocks ReadFrom.
	Close() error
}

// SessionConfig configures one session of a [Mux].
type SessionConfig struct {
	// Peer is the remote address. Required. For a link-local peer set
	// IfIndex: a zone name would be resolved by the Go runtime in the
	// network namespace of the loop's thread, which need not be the one
	// the transport's sockets live in.
	Peer netip.Addr
	// Local is the source address; invalid lets the transport choose.
	Local netip.Addr
	// IfIndex binds the session to an interface (0: any).
	IfIndex int
	// MultiHop selects RFC 5883 (port 4784). If Config.MinTTL is zero a
	// multi-hop session does no TTL check.
	MultiHop bool
	// Config holds the session's protocol parameters. LocalDiscriminator
	// is chosen by the Mux when zero, and must be unique otherwise.
	Config
}

// StateChange is reported to [MuxConfig.OnTransition].
type StateChange struct {
	Discriminator uint32
	Peer, Local   netip.Addr
	IfIndex       int
	MultiHop      bool
	Transition
}

// SessionStatus describes one session of a Mux.
type SessionStatus struct {
	Peer, Local netip.Addr
	IfIndex     int
	MultiHop    bool
	Status
	Stats Stats
}

// MuxConfig configures a [Mux]. The zero value is usable.
type MuxConfig struct {
	// Clock is the time source. If nil, the real clock.
	Clock Clock
	// Logger receives transitions (Info) and errors. If nil, logs are
	// discarded.
	Logger *slog.Logger
	// OnTransition, if set, is called on the loop goroutine for every state
	// change. It must return quickly and must not call Mux methods.
	OnTransition func(StateChange)
	// Events, if set, also receives every state change, sent without
	// blocking: when the channel is full the change is dropped and counted
	// in [MuxStats].EventsDropped. Give it room (or use OnTransition).
	Events chan<- StateChange
	// Rand is the source of jitter and discriminators. If nil, the
	// runtime's random source.
	Rand rand.Source
}

// MuxStats are counters of a Mux that no session owns.
type MuxStats struct {
	Received    uint64
	Sent        uint64
	SendErrors  uint64
	ReadErrors  uint64
	Malformed   uint64
	NoSession   uint64
	BadAddress  uint64
	TimerEvents uint64
	// EventsDropped counts state changes MuxConfig.Events had no room for.
	EventsDropped uint64
	// LateWakeups counts loop wakeups more than 5 ms after a deadline: a
	// sign of CPU starvation. Timers are then judged 1 ms later, after the
	// readers have delivered what arrived meanwhile.
	LateWakeups uint64
}

// Mux runs many BFD sessions over one [Transport] on a single loop
// goroutine with one timer: sessions sit in a heap ordered by their next
// deadline. Received packets are demultiplexed by Your Discriminator, or,
// while it is zero, by peer address, interface and hop mode.
//
// Add, Remove, Inject, Session and Sessions run on the loop: they wait for
// Run to be running (or for their ctx), and return [ErrClosed] once Run has
// returned. Stats may be called at any time.
type Mux struct {
	cfg    MuxConfig
	log    *slog.Logger
	tr     Transport
	rnd    rand.Source
	ops    chan func()
	wake   chan struct{}
	done   chan struct{}
	rx     chan rxPacket
	free   chan *[MaxPacketLen + 64]byte
	ran    atomic.Bool
	closed sync.Once

	// loop-owned
	byDiscr    map[uint32]*entry
	byAddr     map[addrKey]*entry
	heap       entryHeap
	pkt        ControlPacket
	txbuf      []byte
	armed      time.Time
	graceUntil time.Time
	stopFn     func() bool
	timer      *time.Timer

	received, sent, sendErrors, readErrors, malformed, noSession, badAddress, timerEvents, eventsDropped, lateWakeups atomic.Uint64
}

type rxPacket struct {
	buf  *[MaxPacketLen + 64]byte
	n    int
	meta Meta
}

type addrKey struct {
	peer     netip.Addr
	ifIndex  int
	multiHop bool
}

type entry struct {
	s        *Session
	cfg      SessionConfig
	key      addrKey
	deadline time.Time
	idx      int
}

// NewMux returns a Mux over t. Call Run to start it; Run owns t and closes
// it on return.
func NewMux(cfg MuxConfig, t Transport) (*Mux, error) {
	if t == nil {
		return nil, errors.New("bfd: nil transport")
	}
	m := &Mux{
		cfg:     cfg,
		log:     cfg.Logger,
		tr:      t,
		rnd:     cfg.Rand,
		ops:     make(chan func()),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		rx:      make(chan rxPacket, 64),
		free:    make(chan *[MaxPacketLen + 64]byte, 64),
		byDiscr: make(map[uint32]*entry),
		byAddr:  make(map[addrKey]*entry),
		txbuf:   make([]byte, 0, MaxPacketLen),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.rnd == nil {
		m.rnd = runtimeSource{}
	}
	for range cap(m.free) {
		m.free <- new([MaxPacketLen + 64]byte)
	}
	return m, nil
}

// Run runs the loop until ctx is cancelled, then sends AdminDown to every
// peer, closes the transport and returns nil. It may be called once.
func (m *Mux) Run(ctx context.Context) error {
	if !m.ran.CompareAndSwap(false, true) {
		return errors.New("bfd: mux already running")
	}
	defer m.closed.Do(func() { close(m.done) })
	if m.cfg.Clock == nil {
		m.timer = time.NewTimer(time.Hour)
		m.timer.Stop()
		defer m.timer.Stop()
	}
	var wg sync.WaitGroup
	readerDone := make(chan struct{})
	if p, ok := m.tr.(pusher); ok {
		p.push(func(b []byte, meta Meta, err error) bool { return m.deliver(readerDone, b, meta, err) })
	} else {
		wg.Go(func() { m.reader(readerDone) })
	}
	defer func() {
		close(readerDone)
		_ = m.tr.Close()
		wg.Wait()
		if m.stopFn != nil {
			m.stopFn()
		}
	}()
	var timerC <-chan time.Time
	if m.timer != nil {
		timerC = m.timer.C
	}
	for {
		select {
		case <-ctx.Done():
			m.goodbye()
			return nil
		case p := <-m.rx:
			m.input(p)
			m.free <- p.buf
		case <-m.wake:
			m.armed = time.Time{}
		case <-timerC:
			m.armed = time.Time{}
		case op := <-m.ops:
			op()
		}
		m.drain()
		m.runTimers()
	}
}

// drain processes the packets already queued, so that packets which
// arrived while the loop was busy or descheduled count before any
// detection timer is judged.
func (m *Mux) drain() {
	for range cap(m.rx) {
		select {
		case p := <-m.rx:
			m.input(p)
			m.free <- p.buf
		default:
			return
		}
	}
}

// Lateness handling: when the loop wakes more than lateThreshold after the
// earliest deadline, the process (not necessarily the peers) was stalled,
// and packets may still sit in socket buffers or reader goroutines. The
// loop then waits graceDelay, letting the readers deliver, before it
// judges any timer. It does so once per late wakeup.
const (
	lateThreshold = 5 * time.Millisecond
	graceDelay    = time.Millisecond
)

func (m *Mux) now() time.Time {
	if m.cfg.Clock != nil {
		return m.cfg.Clock.Now()
	}
	return time.Now()
}

func (m *Mux) reader(done <-chan struct{}) {
	for {
		var buf *[MaxPacketLen + 64]byte
		select {
		case buf = <-m.free:
		case <-done:
			return
		}
		n, meta, err := m.tr.ReadFrom(buf[:])
		if err != nil {
			m.free <- buf
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.readErrors.Add(1)
			select {
			case <-done:
				return
			case <-time.After(readErrorBackoff): // never spin on a persistent error
				continue
			}
		}
		select {
		case m.rx <- rxPacket{buf: buf, n: n, meta: meta}:
		case <-done:
			return
		}
	}
}

// pusher is implemented by transports that deliver datagrams from their
// own goroutines (the Linux UDP transport), saving the Mux its reader
// goroutine and one hand-off per packet. deliver copies b; it returns
// false once the Mux is stopping.
type pusher interface {
	push(deliver func(b []byte, m Meta, err error) bool)
}

func (m *Mux) deliver(done <-chan struct{}, b []byte, meta Meta, err error) bool {
	if err != nil {
		m.readErrors.Add(1)
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	var buf *[MaxPacketLen + 64]byte
	select {
	case buf = <-m.free:
	case <-done:
		return false
	}
	n := copy(buf[:], b)
	select {
	case m.rx <- rxPacket{buf: buf, n: n, meta: meta}:
		return true
	case <-done:
		m.free <- buf
		return false
	}
}

// do runs f on the loop and waits for it.
func (m *Mux) do(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case m.ops <- func() { f(); close(ran) }:
	case <-m.done:
		return errMuxClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-ran
	return nil
}

// Add creates a session and returns its local discriminator.
func (m *Mux) Add(ctx context.Context, sc SessionConfig) (uint32, error) {
	if !sc.Peer.IsValid() {
		return 0, errors.New("bfd: session peer address is required")
	}
	if sc.Local.IsValid() && sc.Local.Unmap().Is4() != sc.Peer.Unmap().Is4() {
		return 0, fmt.Errorf("bfd: local address %v and peer %v differ in family", sc.Local, sc.Peer)
	}
	if sc.MultiHop && sc.MinTTL == 0 {
		sc.MinTTL = 1
	}
	if sc.Rand == nil {
		sc.Rand = m.rnd
	}
	var discr uint32
	var err error
	if derr := m.do(ctx, func() { discr, err = m.add(sc) }); derr != nil {
		return 0, derr
	}
	return discr, err
}

// add creates a session; it runs on the loop.
func (m *Mux) add(sc SessionConfig) (uint32, error) {
	key := addrKey{peer: sc.Peer.Unmap().WithZone(""), ifIndex: sc.IfIndex, multiHop: sc.MultiHop}
	if _, dup := m.byAddr[key]; dup {
		return 0, fmt.Errorf("bfd: session to %v already exists", sc.Peer)
	}
	c := sc.Config
	if c.LocalDiscriminator == 0 {
		for c.LocalDiscriminator == 0 || m.byDiscr[c.LocalDiscriminator] != nil {
			c.LocalDiscriminator = uint32(m.rnd.Uint64())
		}
	} else if m.byDiscr[c.LocalDiscriminator] != nil {
		return 0, fmt.Errorf("bfd: discriminator %d already in use", c.LocalDiscriminator)
	}
	s, err := NewSession(c)
	if err != nil {
		return 0, err
	}
	e := &entry{s: s, cfg: sc, key: key, idx: -1}
	e.cfg.Auth.Key = nil
	e.cfg.Rand = nil
	m.byDiscr[s.LocalDiscriminator()] = e
	m.byAddr[key] = e
	m.step(e, m.now(), Event{Kind: EventTimer})
	return s.LocalDiscriminator(), nil
}

// Remove sends AdminDown to the peer and deletes the session.
func (m *Mux) Remove(ctx context.Context, discr uint32) error {
	return m.doSession(ctx, discr, func(e *entry) {
		m.step(e, m.now(), Event{Kind: EventAdminDown, Diag: DiagAdminDown})
		delete(m.byDiscr, discr)
		delete(m.byAddr, e.key)
		if e.idx >= 0 {
			heap.Remove(&m.heap, e.idx)
		}
	})
}

// Inject hands ev (EventAdminDown, EventAdminUp, EventSetTimers,
// EventPoll) to the session discr on the loop.
func (m *Mux) Inject(ctx context.Context, discr uint32, ev Event) error {
	if ev.Kind == EventPacket {
		return errors.New("bfd: packets cannot be injected")
	}
	return m.doSession(ctx, discr, func(e *entry) { m.step(e, m.now(), ev) })
}

// Session returns the status of session discr.
func (m *Mux) Session(ctx context.Context, discr uint32) (SessionStatus, error) {
	var st SessionStatus
	err := m.doSession(ctx, discr, func(e *entry) { st = e.status() })
	return st, err
}

// doSession runs f on the loop with the entry of session discr, or returns
// [ErrNoSession].
func (m *Mux) doSession(ctx context.Context, discr uint32, f func(*entry)) error {
	err := ErrNoSession
	if derr := m.do(ctx, func() {
		if e := m.byDiscr[discr]; e != nil {
			f(e)
			err = nil
		}
	}); derr != nil {
		return derr
	}
	return err
}

// Sessions returns the status of every session.
func (m *Mux) Sessions(ctx context.Context) ([]SessionStatus, error) {
	var out []SessionStatus
	err := m.do(ctx, func() {
		out = make([]SessionStatus, 0, len(m.byDiscr))
		for _, e := range m.byDiscr {
			out = append(out, e.status())
		}
	})
	return out, err
}

func (e *entry) status() SessionStatus {
	return SessionStatus{Peer: e.cfg.Peer, Local: e.cfg.Local, IfIndex: e.cfg.IfIndex, MultiHop: e.cfg.MultiHop,
		Status: e.s.Status(), Stats: e.s.Stats()}
}

// Stats returns the Mux's own counters. It is safe to call at any time.
func (m *Mux) Stats() MuxStats {
	return MuxStats{
		Received: m.received.Load(), Sent: m.sent.Load(), SendErrors: m.sendErrors.Load(),
		ReadErrors: m.readErrors.Load(), Malformed: m.malformed.Load(), NoSession: m.noSession.Load(),
		BadAddress: m.badAddress.Load(), TimerEvents: m.timerEvents.Load(), EventsDropped: m.eventsDropped.Load(),
		LateWakeups: m.lateWakeups.Load(),
	}
}

func (m *Mux) input(p rxPacket) {
	m.received.Add(1)
	raw := p.buf[:p.n]
	if err := m.pkt.UnmarshalBinary(raw); err != nil {
		m.malformed.Add(1)
		return
	}
	var e *entry
	peer := p.meta.Peer.Unmap().WithZone("")
	if d := m.pkt.YourDiscriminator; d != 0 {
		e = m.byDiscr[d]
	} else {
		e = m.byAddr[addrKey{peer: peer, ifIndex: p.meta.IfIndex, multiHop: p.meta.MultiHop}]
		if e == nil {
			e = m.byAddr[addrKey{peer: peer, multiHop: p.meta.MultiHop}]
		}
	}
	if e == nil {
		m.noSession.Add(1)
		return
	}
	// A session found by discriminator must match the packet's addresses
	// too (one found by address does by construction).
	if e.key.peer != peer || e.key.multiHop != p.meta.MultiHop ||
		e.cfg.IfIndex != 0 && p.meta.IfIndex != 0 && e.cfg.IfIndex != p.meta.IfIndex {
		m.badAddress.Add(1)
		e.s.drop(DropAddress)
		return
	}
	m.step(e, m.now(), Event{Kind: EventPacket, Packet: &m.pkt, Raw: raw, TTL: p.meta.TTL})
}

// step feeds ev to e's session, performs the actions and fixes the heap.
func (m *Mux) step(e *entry, now time.Time, ev Event) {
	for i := range e.s.Handle(now, ev) {
		a := &e.s.acts[i]
		switch a.Kind {
		case ActionSend:
			b, err := e.s.AppendPacket(m.txbuf[:0], &a.Packet)
			if err == nil {
				err = m.tr.WriteTo(b, Meta{Peer: e.cfg.Peer, Local: e.cfg.Local, IfIndex: e.cfg.IfIndex, MultiHop: e.cfg.MultiHop})
			}
			if err != nil {
				m.sendErrors.Add(1)
				if m.log.Enabled(context.Background(), slog.LevelDebug) {
					m.log.Debug("send failed", "peer", e.cfg.Peer, "discr", e.s.localDiscr, "err", err)
				}
				continue
			}
			m.sent.Add(1)
		case ActionTransition:
			t := a.Transition
			m.log.Info("bfd session state changed", "peer", e.cfg.Peer, "discr", e.s.localDiscr,
				"from", t.From, "to", t.To, "reason", t.Reason, "diag", t.Diag)
			sc := StateChange{Discriminator: e.s.localDiscr, Peer: e.cfg.Peer, Local: e.cfg.Local,
				IfIndex: e.cfg.IfIndex, MultiHop: e.cfg.MultiHop, Transition: t}
			if m.cfg.OnTransition != nil {
				m.cfg.OnTransition(sc)
			}
			if m.cfg.Events != nil {
				select {
				case m.cfg.Events <- sc:
				default:
					m.eventsDropped.Add(1)
				}
			}
		}
	}
	e.deadline = e.s.NextDeadline()
	switch {
	case e.deadline.IsZero() && e.idx >= 0:
		heap.Remove(&m.heap, e.idx)
	case !e.deadline.IsZero() && e.idx < 0:
		heap.Push(&m.heap, e)
	case !e.deadline.IsZero():
		heap.Fix(&m.heap, e.idx)
	}
}

func (m *Mux) runTimers() {
	now := m.now()
	due := len(m.heap) > 0 && !m.heap[0].deadline.After(now)
	graceOver := false
	if !m.graceUntil.IsZero() {
		if now.Before(m.graceUntil) {
			if due {
				m.arm(now, m.graceUntil)
				return
			}
		} else {
			m.graceUntil, graceOver = time.Time{}, true
		}
	}
	if due && !graceOver && now.Sub(m.heap[0].deadline) > lateThreshold {
		m.graceUntil = now.Add(graceDelay)
		m.lateWakeups.Add(1)
		m.arm(now, m.graceUntil)
		return
	}
	for len(m.heap) > 0 && !m.heap[0].deadline.After(now) {
		m.timerEvents.Add(1)
		m.step(m.heap[0], now, Event{Kind: EventTimer})
	}
	if len(m.heap) == 0 {
		return
	}
	m.arm(now, m.heap[0].deadline)
}

// arm sets the loop's timer to next unless it is already set to it.
func (m *Mux) arm(now, next time.Time) {
	if next.Equal(m.armed) {
		return
	}
	m.armed = next
	d := next.Sub(now)
	if m.timer != nil {
		m.timer.Reset(d)
		return
	}
	if m.stopFn != nil {
		m.stopFn()
	}
	m.stopFn = m.cfg.Clock.AfterFunc(d, func() {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	})
}

func (m *Mux) goodbye() {
	now := m.now()
	for _, e := range m.byDiscr {
		m.step(e, now, Event{Kind: EventAdminDown, Diag: DiagAdminDown})
	}
}

type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}
