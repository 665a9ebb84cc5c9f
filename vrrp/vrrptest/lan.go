package vrrptest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
)

// LANConfig configures a [LAN]. The zero value is a lossless LAN with
// 100µs links, seed 0.
type LANConfig struct {
	// Seed seeds the LAN's random source (loss and jitter); the same seed
	// and the same calls give the same run.
	Seed uint64
	// Start is the simulated time at which the LAN starts. If zero,
	// 2026-01-01 00:00 UTC is used.
	Start time.Time
	// Delay is the one-way delay of every link. If zero, 100µs is used;
	// use a negative value for no delay at all.
	Delay time.Duration
	// Jitter adds a uniformly random [0, Jitter) to each packet's delay.
	Jitter time.Duration
	// Loss is the default probability, 0..1, that a packet is lost on a
	// link.
	Loss float64
	// TraceLimit bounds the number of trace entries kept (the most recent
	// ones). If zero, 50000 is used; negative disables the trace.
	TraceLimit int
}

// LAN is a deterministic discrete-event simulation of VRRP routers, each a
// [vrrp.Machine], on one broadcast segment whose links can lose, delay and
// cut packets. Time is simulated: Run advances it, processing events in
// time order. A LAN is not safe for concurrent use.
type LAN struct {
	cfg     LANConfig
	rng     *rand.Rand
	now     time.Time
	start   time.Time
	seq     uint64
	queue   eventQueue
	evs     []qevent
	free    []int32
	slab    []byte
	routers []*Router
	links   [][]link // [from][to]
	groups  []*lanGroup
	trace   []TraceEntry
	trans   []RouterTransition
	stats   LANStats
	pending []groupEvent
}

type link struct {
	loss  float64
	delay time.Duration
	cut   bool
}

// LANStats counts what happened on a LAN.
type LANStats struct {
	Events, Sent, Delivered, Lost, Cut uint64
}

// Router is one VRRP instance on a [LAN].
type Router struct {
	lan      *LAN
	id       int
	name     string
	cfg      vrrp.Config
	m        *vrrp.Machine
	up       bool // powered on (not crashed)
	gen      uint64
	armed    time.Time
	lastSent time.Time
	group    *lanGroup
	gindex   int
}

// RouterTransition is a transition of a router on a LAN.
type RouterTransition struct {
	Router *Router
	vrrp.Transition
}

// NewLAN returns an empty LAN.
func NewLAN(cfg LANConfig) *LAN {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	switch {
	case cfg.Delay == 0:
		cfg.Delay = 100 * time.Microsecond
	case cfg.Delay < 0:
		cfg.Delay = 0
	}
	if cfg.TraceLimit == 0 {
		cfg.TraceLimit = 50000
	}
	return &LAN{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), now: cfg.Start, start: cfg.Start}
}

// AddRouter adds a powered-on but not started router running one instance
// with cfg. cfg.Source is its address on the LAN; Clock, Logger and
// OnTransition are ignored (see Transitions).
func (l *LAN) AddRouter(name string, cfg vrrp.Config) (*Router, error) {
	m, err := vrrp.NewMachine(cfg)
	if err != nil {
		return nil, fmt.Errorf("router %s: %w", name, err)
	}
	r := &Router{lan: l, id: len(l.routers), name: name, cfg: m.Config(), m: m, up: true}
	l.routers = append(l.routers, r)
	for i := range l.links {
		l.links[i] = append(l.links[i], link{loss: l.cfg.Loss, delay: l.cfg.Delay})
	}
	row := make([]link, len(l.routers))
	for i := range row {
		row[i] = link{loss: l.cfg.Loss, delay: l.cfg.Delay}
	}
	l.links = append(l.links, row)
	return r, nil
}

// Name returns the router's name.
func (r *Router) Name() string { return r.name }

// String returns the router's name, so that %v in failure messages
// names it.
func (r *Router) String() string { return r.name }

// State returns the router's state; a crashed router reports StateStop.
func (r *Router) State() vrrp.State {
	if !r.up {
		return vrrp.StateStop
	}
	return r.m.State()
}

// Up reports whether the router is powered on (not crashed).
func (r *Router) Up() bool { return r.up }

// Machine returns the router's state machine, for inspection only.
func (r *Router) Machine() *vrrp.Machine { return r.m }

// Config returns the router's (normalized) configuration.
func (r *Router) Config() vrrp.Config { return r.m.Config() }

// LastSent returns when the router last sent an advertisement.
func (r *Router) LastSent() time.Time { return r.lastSent }

// Routers returns the routers in the order they were added.
func (l *LAN) Routers() []*Router { return l.routers }

// Now returns the simulated time.
func (l *LAN) Now() time.Time { return l.now }

// Elapsed returns the simulated time since the LAN started.
func (l *LAN) Elapsed() time.Duration { return l.now.Sub(l.start) }

// Stats returns the LAN's counters.
func (l *LAN) Stats() LANStats { return l.stats }

// Transitions returns every transition so far, in order.
func (l *LAN) Transitions() []RouterTransition { return l.trans }

// Start starts r's instance now.
func (l *LAN) Start(r *Router) {
	if r.up {
		l.handle(r, vrrp.Event{Kind: vrrp.EventStart})
	}
}

// Stop stops r's instance gracefully now (a MASTER sends priority 0).
func (l *LAN) Stop(r *Router) {
	if r.up {
		l.handle(r, vrrp.Event{Kind: vrrp.EventStop})
	}
}

// Crash powers r off silently: it sends nothing more and loses its state.
func (l *LAN) Crash(r *Router) {
	if !r.up {
		return
	}
	r.up = false
	r.gen++
	r.armed = time.Time{}
	l.addTrace(TraceEntry{Kind: TraceCrash, Router: r.id})
}

// Restart powers a crashed r back on with a fresh instance and starts it.
func (l *LAN) Restart(r *Router) {
	if r.up {
		return
	}
	m, err := vrrp.NewMachine(r.cfg)
	if err != nil { // unreachable: cfg was valid
		return
	}
	r.m, r.up = m, true
	if r.group != nil {
		m.Handle(l.now, vrrp.Event{Kind: vrrp.EventJoinGroup})
	}
	l.addTrace(TraceEntry{Kind: TraceRestart, Router: r.id})
	if r.group != nil {
		// A restarted member starts with its group's fault state.
		if r.group.core != nil && r.group.faulted() {
			l.handle(r, vrrp.Event{Kind: vrrp.EventGroupFault, Up: false})
		}
	}
	l.Start(r)
}

// SetTracked sets a tracked object of r now.
func (l *LAN) SetTracked(r *Router, name string, up bool) {
	if r.up {
		l.handle(r, vrrp.Event{Kind: vrrp.EventTrack, Name: name, Up: up})
	}
}

// SetPriority sets r's base priority now.
func (l *LAN) SetPriority(r *Router, p uint8) {
	if r.up {
		l.handle(r, vrrp.Event{Kind: vrrp.EventPriority, Priority: p})
	}
}

// Update reconfigures r now (see [vrrp.Machine.Update]).
func (l *LAN) Update(r *Router, cfg vrrp.Config) error {
	acts, err := r.m.Update(l.now, cfg)
	if err != nil {
		return err
	}
	r.cfg = r.m.Config()
	if r.up {
		l.perform(r, acts)
		l.flush()
	}
	return nil
}

// SetLoss sets the loss probability of the link from a to b.
func (l *LAN) SetLoss(from, to *Router, p float64) { l.links[from.id][to.id].loss = p }

// SetDelay sets the one-way delay of the link from a to b.
func (l *LAN) SetDelay(from, to *Router, d time.Duration) { l.links[from.id][to.id].delay = d }

// SetAllLoss sets the loss probability of every link.
func (l *LAN) SetAllLoss(p float64) {
	for i := range l.links {
		for j := range l.links[i] {
			l.links[i][j].loss = p
		}
	}
}

// Partition cuts every link between routers of different sets; routers in
// no set are cut off from everyone. Heal undoes it.
func (l *LAN) Partition(sets ...[]*Router) {
	side := make([]int, len(l.routers))
	for i := range side {
		side[i] = -1 - i
	}
	for s, set := range sets {
		for _, r := range set {
			side[r.id] = s
		}
	}
	for i := range l.links {
		for j := range l.links[i] {
			l.links[i][j].cut = side[i] != side[j]
		}
	}
	l.addTrace(TraceEntry{Kind: TracePartition})
}

// Heal restores every cut link.
func (l *LAN) Heal() {
	for i := range l.links {
		for j := range l.links[i] {
			l.links[i][j].cut = false
		}
	}
	l.addTrace(TraceEntry{Kind: TraceHeal})
}

// SyncGroup puts routers in a sync group (see [vrrp.Group]); members are
// normally instances of different VRIDs on the same host.
func (l *LAN) SyncGroup(members ...*Router) error {
	g := &lanGroup{core: vrrp.NewGroup(len(members)), members: members}
	for _, r := range members {
		if r.group != nil {
			return fmt.Errorf("router %s already in a sync group", r.name)
		}
	}
	for i, r := range members {
		r.group, r.gindex = g, i
		r.m.Handle(l.now, vrrp.Event{Kind: vrrp.EventJoinGroup})
	}
	l.groups = append(l.groups, g)
	return nil
}

type lanGroup struct {
	core    *vrrp.Group
	members []*Router
	fault   bool
}

func (g *lanGroup) faulted() bool { return g.fault }

type groupEvent struct {
	r  *Router
	ev vrrp.Event
}

// Run advances simulated time by d, processing every event due.
func (l *LAN) Run(d time.Duration) {
	end := l.now.Add(d)
	endNs := int64(end.Sub(l.start))
	for len(l.queue) > 0 && l.queue[0].at <= endNs {
		it := l.queue.pop()
		l.now = l.start.Add(time.Duration(it.at))
		e := l.evs[it.ev]
		l.evs[it.ev] = qevent{}
		l.free = append(l.free, it.ev)
		l.stats.Events++
		r := l.routers[e.router]
		switch e.kind {
		case qTimer:
			if r.up && e.gen == r.gen {
				r.armed = time.Time{}
				l.handle(r, vrrp.Event{Kind: vrrp.EventTimer})
			}
		case qPacket:
			if !r.up {
				continue
			}
			l.stats.Delivered++
			l.addTrace(TraceEntry{Kind: TraceRecv, Router: r.id, Peer: e.from, Prio: prio(e.payload)})
			l.handle(r, vrrp.Event{Kind: vrrp.EventPacket, Payload: e.payload, Meta: e.meta})
		}
	}
	l.now = end
}

// RunUntil runs until cond is true (checked after every event) or max has
// elapsed; it reports whether cond became true.
func (l *LAN) RunUntil(cond func() bool, max time.Duration) bool {
	end := l.now.Add(max)
	for !cond() {
		if len(l.queue) == 0 || l.queue[0].at > int64(end.Sub(l.start)) {
			l.now = end
			return cond()
		}
		l.Run(l.start.Add(time.Duration(l.queue[0].at)).Sub(l.now))
	}
	return true
}

// Masters returns the routers that are MASTER for vrid.
func (l *LAN) Masters(vrid uint8) []*Router {
	var out []*Router
	for _, r := range l.routers {
		if r.up && r.cfg.VRID == vrid && r.m.State() == vrrp.StateMaster {
			out = append(out, r)
		}
	}
	return out
}

func prio(b []byte) int {
	if len(b) < 3 {
		return -1
	}
	return int(b[2])
}

func (l *LAN) handle(r *Router, ev vrrp.Event) {
	l.perform(r, r.m.Handle(l.now, ev))
	l.flush()
}

// flush delivers pending sync group events.
func (l *LAN) flush() {
	for len(l.pending) > 0 {
		ge := l.pending[0]
		l.pending = l.pending[1:]
		if ge.r.up {
			l.perform(ge.r, ge.r.m.Handle(l.now, ge.ev))
		}
	}
	l.pending = l.pending[:0]
}

func (l *LAN) perform(r *Router, acts []vrrp.Action) {
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActionSend:
			r.lastSent = l.now
			l.transmit(r, a.Dst, a.Payload)
		case vrrp.ActionTransition:
			l.trans = append(l.trans, RouterTransition{Router: r, Transition: a.Transition})
			l.addTrace(TraceEntry{Kind: TraceTransition, Router: r.id, From: a.Transition.From, To: a.Transition.To,
				Reason: a.Transition.Reason, Prio: int(a.Transition.Priority)})
		}
		if g := r.group; g != nil {
			if ev, ok := g.core.Propagate(r.gindex, a); ok {
				if ev.Kind == vrrp.EventGroupFault {
					g.fault = !ev.Up
				}
				for _, m := range g.members {
					l.pending = append(l.pending, groupEvent{r: m, ev: ev})
				}
			}
		}
	}
	if d := r.m.NextDeadline(); d != r.armed {
		r.armed = d
		r.gen++
		if !d.IsZero() {
			if d.Before(l.now) {
				d = l.now
			}
			l.push(d, qevent{kind: qTimer, router: r.id, gen: r.gen})
		}
	}
}

func (l *LAN) transmit(from *Router, dst netip.Addr, payload []byte) {
	l.stats.Sent++
	l.addTrace(TraceEntry{Kind: TraceSend, Router: from.id, Prio: prio(payload), Dst: dst})
	var shared []byte
	for _, to := range l.routers {
		if to == from || to.cfg.Source.Is4() != from.cfg.Source.Is4() {
			continue
		}
		if !dst.IsMulticast() && to.cfg.Source != dst {
			continue
		}
		lk := l.links[from.id][to.id]
		if lk.cut {
			l.stats.Cut++
			continue
		}
		if lk.loss > 0 && l.rng.Float64() < lk.loss {
			l.stats.Lost++
			l.addTrace(TraceEntry{Kind: TraceLoss, Router: to.id, Peer: from.id})
			continue
		}
		if shared == nil {
			if len(l.slab)+len(payload) > cap(l.slab) {
				l.slab = make([]byte, 0, max(4096, len(payload)))
			}
			n := len(l.slab)
			l.slab = append(l.slab, payload...)
			shared = l.slab[n:len(l.slab):len(l.slab)]
		}
		d := lk.delay
		if l.cfg.Jitter > 0 {
			d += time.Duration(l.rng.Int64N(int64(l.cfg.Jitter)))
		}
		l.push(l.now.Add(d), qevent{kind: qPacket, router: to.id, from: from.id, payload: shared,
			meta: vrrp.Meta{Src: from.cfg.Source, Dst: dst, TTL: 255, IfIndex: 1}})
	}
}

func (l *LAN) push(at time.Time, e qevent) {
	l.seq++
	var i int32
	if n := len(l.free); n > 0 {
		i = l.free[n-1]
		l.free = l.free[:n-1]
		l.evs[i] = e
	} else {
		i = int32(len(l.evs))
		l.evs = append(l.evs, e)
	}
	l.queue.push(qitem{at: int64(at.Sub(l.start)), seq: l.seq, ev: i})
}

// TraceKind is the kind of a [TraceEntry].
type TraceKind uint8

// Trace entry kinds.
const (
	TraceSend TraceKind = iota + 1
	TraceRecv
	TraceLoss
	TraceTransition
	TraceCrash
	TraceRestart
	TracePartition
	TraceHeal
	TraceNote
)

// TraceEntry is one event of a LAN run.
type TraceEntry struct {
	At       time.Duration // since the LAN started
	Kind     TraceKind
	Router   int // index in Routers
	Peer     int // sender, for TraceRecv and TraceLoss
	Prio     int // advertised priority, or the priority at a transition
	Dst      netip.Addr
	From, To vrrp.State
	Reason   vrrp.Reason
	Note     string
}

// Note adds a free-form line to the trace.
func (l *LAN) Note(format string, args ...any) {
	if l.cfg.TraceLimit < 0 {
		return
	}
	l.addTrace(TraceEntry{Kind: TraceNote, Note: fmt.Sprintf(format, args...)})
}

func (l *LAN) addTrace(e TraceEntry) {
	if l.cfg.TraceLimit < 0 {
		return
	}
	e.At = l.now.Sub(l.start)
	if len(l.trace) >= l.cfg.TraceLimit {
		n := copy(l.trace, l.trace[len(l.trace)/2:])
		l.trace = l.trace[:n]
	}
	l.trace = append(l.trace, e)
}

// Trace returns the recorded trace, one line per entry.
func (l *LAN) Trace() string {
	var b strings.Builder
	name := func(i int) string { return l.routers[i].name }
	for _, e := range l.trace {
		fmt.Fprintf(&b, "%12v ", e.At)
		switch e.Kind {
		case TraceSend:
			fmt.Fprintf(&b, "%s send prio %d to %v", name(e.Router), e.Prio, e.Dst)
		case TraceRecv:
			fmt.Fprintf(&b, "%s recv prio %d from %s", name(e.Router), e.Prio, name(e.Peer))
		case TraceLoss:
			fmt.Fprintf(&b, "%s lost packet from %s", name(e.Router), name(e.Peer))
		case TraceTransition:
			fmt.Fprintf(&b, "%s %v -> %v (%v) prio %d", name(e.Router), e.From, e.To, e.Reason, e.Prio)
		case TraceCrash:
			fmt.Fprintf(&b, "%s crashed", name(e.Router))
		case TraceRestart:
			fmt.Fprintf(&b, "%s restarted", name(e.Router))
		case TracePartition:
			b.WriteString("partition")
		case TraceHeal:
			b.WriteString("heal")
		case TraceNote:
			b.WriteString("# " + e.Note)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

type qkind uint8

const (
	qTimer qkind = iota + 1
	qPacket
)

type qevent struct {
	kind    qkind
	router  int
	from    int
	gen     uint64
	payload []byte
	meta    vrrp.Meta
}

// qitem is a heap entry: the time in nanoseconds since the LAN started,
// a tie-breaking sequence number and the index of the event in LAN.evs.
type qitem struct {
	at  int64
	seq uint64
	ev  int32
}

// eventQueue is a binary min-heap of qitems.
type eventQueue []qitem

func (q eventQueue) less(i, j int) bool {
	return q[i].at < q[j].at || (q[i].at == q[j].at && q[i].seq < q[j].seq)
}

func (q *eventQueue) push(it qitem) {
	*q = append(*q, it)
	h := *q
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *eventQueue) pop() qitem {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*q = h
	return top
}
