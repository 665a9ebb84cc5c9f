package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// State is the state of a virtual router instance.
type State uint8

// Instance states. StateInit is RFC 5798's Initialize; StateFault and
// StateStop are keepalived's FAULT and STOP.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStop
)

// String returns the keepalived name of the state ("MASTER", ...).
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	case StateStop:
		return "STOP"
	}
	return "State(" + itoa(int(s)) + ")"
}

// Reason says why a transition happened.
type Reason uint8

// Transition reasons.
const (
	ReasonNone Reason = iota
	// ReasonStartup: the instance started and waits as BACKUP.
	ReasonStartup
	// ReasonOwner: the address owner (priority 255) became MASTER at once.
	ReasonOwner
	// ReasonMasterDown: no advertisement within Master_Down_Interval.
	ReasonMasterDown
	// ReasonMasterStopped: the master sent priority 0 and Skew_Time passed.
	ReasonMasterStopped
	// ReasonPreempt: a lower-priority master was preempted.
	ReasonPreempt
	// ReasonHigherPriority: a MASTER received a higher-priority advertisement.
	ReasonHigherPriority
	// ReasonTieBreak: a MASTER received an equal-priority advertisement from
	// a higher primary address.
	ReasonTieBreak
	// ReasonFault: a tracked object went down (or up, if reversed).
	ReasonFault
	// ReasonFaultCleared: every tracked object is fine again.
	ReasonFaultCleared
	// ReasonSyncGroup: another member of the sync group made the instance
	// follow it.
	ReasonSyncGroup
	// ReasonShutdown: the instance was stopped.
	ReasonShutdown
	// ReasonMasterDownHint: the caller reported the master this BACKUP
	// last heard as gone ([EventMasterDown], e.g. from BFD), which acts as
	// an expiry of the master down timer.
	ReasonMasterDownHint
)

// String returns a short lowercase description of the reason.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonStartup:
		return "startup"
	case ReasonOwner:
		return "address owner"
	case ReasonMasterDown:
		return "master down timer expired"
	case ReasonMasterStopped:
		return "master sent priority 0"
	case ReasonPreempt:
		return "preempted lower-priority master"
	case ReasonHigherPriority:
		return "higher-priority advertisement"
	case ReasonTieBreak:
		return "equal priority from higher address"
	case ReasonFault:
		return "tracked object fault"
	case ReasonFaultCleared:
		return "fault cleared"
	case ReasonSyncGroup:
		return "sync group"
	case ReasonShutdown:
		return "shutdown"
	case ReasonMasterDownHint:
		return "master reported down"
	}
	return "Reason(" + itoa(int(r)) + ")"
}

// Transition is a change of state.
type Transition struct {
	From, To State
	Reason   Reason
	At       time.Time
	// Priority is the effective priority at the time of the transition.
	Priority uint8
}

// EventKind is the kind of an [Event].
type EventKind uint8

// Event kinds.
const (
	// EventStart starts the instance (RFC Startup). Valid in INIT and STOP.
	EventStart EventKind = iota + 1
	// EventStop stops the instance (RFC Shutdown); a MASTER sends a
	// priority-0 advertisement.
	EventStop
	// EventTimer tells the machine that NextDeadline has been reached.
	EventTimer
	// EventPacket delivers a received message: Payload and Meta.
	EventPacket
	// EventPriority sets the base priority to Priority (1-255).
	EventPriority
	// EventTrack sets the tracked object Name up or down (Up).
	EventTrack
	// EventForce makes the instance follow its sync group to State
	// (StateMaster or StateBackup); ignored in FAULT, INIT and STOP.
	EventForce
	// EventGroupFault faults the instance because another member of its
	// sync group is faulted (Up false), or clears that (Up true).
	EventGroupFault
	// EventJoinGroup makes the instance a sync group member: when its
	// master down timer expires it does not become MASTER by itself but
	// reports [ActionWantMaster] and waits for EventForce, which the
	// [Group] sends once every member wants to be (or is) MASTER, as
	// keepalived does. Send it before EventStart.
	EventJoinGroup
	// EventMasterDown reports that the master at Addr is gone (for
	// example, a BFD session to it went down). A BACKUP whose last heard
	// master ([Machine.Master]) is Addr acts as if its master down timer
	// expired now (reason [ReasonMasterDownHint]); otherwise the event is
	// ignored and counted in Stats.MasterDownHintsIgnored. A false hint
	// is harmless: the live master answers the new master's
	// lower-priority advertisement and it steps down again.
	EventMasterDown
)

// Event is an input to [Machine.Handle].
type Event struct {
	Kind EventKind
	// Payload and Meta are the received message, for EventPacket. Payload
	// is not retained.
	Payload []byte
	Meta    Meta
	// Priority is the new base priority, for EventPriority.
	Priority uint8
	// Name and Up are the tracked object and its state, for EventTrack;
	// Up also for EventGroupFault.
	Name string
	Up   bool
	// State is the state to follow, for EventForce.
	State State
	// Addr is the address of the master reported gone, for
	// EventMasterDown.
	Addr netip.Addr
}

// ActionKind is the kind of an [Action].
type ActionKind uint8

// Action kinds.
const (
	// ActionSend: send Payload to Dst.
	ActionSend ActionKind = iota + 1
	// ActionTransition: the state changed, see Transition.
	ActionTransition
	// ActionFaultChange: the instance's own fault condition (from its
	// tracked objects) changed to Faulted. Sync groups use it.
	ActionFaultChange
	// ActionWantMaster: a sync group member's master down timer expired
	// (Want true) or an advertisement showed the master alive again (Want
	// false). Sync groups use it.
	ActionWantMaster
	// ActionLowerPriority: a MASTER received a valid advertisement that
	// does not preempt it: a lower priority (not 0), or an equal priority
	// from a lower primary address. See Advert. This is where keepalived
	// sends garp_lower_prio_repeat gratuitous ARPs and runs
	// notify_master_rx_lower_pri (the fix for stale ARP caches after a
	// partition heals). It comes after the answering advertisement (unless
	// Config.LowerPrioNoAdvert).
	ActionLowerPriority
)

// PeerAdvert describes an advertisement received from another router.
type PeerAdvert struct {
	// From is the IP source address of the advertisement (the peer's
	// primary address).
	From netip.Addr
	// Priority is the advertised priority.
	Priority uint8
	// At is the time it was handled.
	At time.Time
}

// Action is an output of [Machine.Handle].
type Action struct {
	Kind ActionKind
	// Dst and Payload are the destination and the VRRP message, for
	// ActionSend. Payload aliases memory of the Machine that is reused by
	// the next call to Handle.
	Dst     netip.Addr
	Payload []byte
	// Transition is the transition, for ActionTransition.
	Transition Transition
	// Faulted is the new own-fault condition, for ActionFaultChange.
	Faulted bool
	// Want is whether the member wants to become MASTER, for
	// ActionWantMaster.
	Want bool
	// Advert is the received advertisement, for ActionLowerPriority.
	Advert PeerAdvert
}

// Machine is the pure state machine of one VRRP virtual router instance
// (RFC 5798 §6, RFC 3768 §6, and the keepalived extensions documented on
// [Config]). It has no goroutines, clock or sockets: feed it events with
// Handle at the current time, perform the actions it returns, and call
// Handle with EventTimer when NextDeadline is reached. A Machine is not
// safe for concurrent use. [Instance] runs one.
type Machine struct {
	cfg     Config
	state   State
	base    uint8
	eff     uint8
	up      []bool // per cfg.Track
	own     bool   // own fault
	group   bool   // sync group fault
	started bool
	gated   bool // sync group member
	want    bool // gated and the master down timer expired

	masterAdver  time.Duration // Master_Adver_Interval
	masterDownAt time.Time     // Master_Down_Timer; zero if not running
	adverAt      time.Time     // Adver_Timer; zero if not running
	preemptAt    time.Time     // preemption allowed from
	downCause    Reason        // reason if the master down timer expires
	master       netip.Addr    // last heard master (BACKUP); invalid if none
	sendMode     ChecksumMode  // current send variant (v3 IPv4)

	stats   Stats
	rx      Packet
	tx      Packet
	buf     []byte
	actions []Action
}

// NewMachine returns a Machine in StateInit for cfg; send it [EventStart].
func NewMachine(cfg Config) (*Machine, error) {
	n, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	m := &Machine{cfg: n, base: n.Priority, sendMode: n.Checksum, masterAdver: n.AdvertInterval}
	m.up = make([]bool, len(n.Track))
	for i := range m.up {
		m.up[i] = true
	}
	m.rx.Addrs = make([]netip.Addr, 0, 8)
	m.actions = make([]Action, 0, 8)
	m.buf = make([]byte, 0, 256)
	m.recompute()
	return m, nil
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority (base priority adjusted by
// tracked objects).
func (m *Machine) Priority() uint8 { return m.eff }

// Stats returns a snapshot of the counters.
func (m *Machine) Stats() Stats { return m.stats }

// Config returns the normalized configuration in use (a copy).
func (m *Machine) Config() Config {
	c, _ := m.cfg.normalize()
	return c
}

// MasterAdvertInterval returns Master_Adver_Interval: the advertisement
// interval learned from the master (VRRPv3), else the configured one.
func (m *Machine) MasterAdvertInterval() time.Duration { return m.masterAdver }

// SkewTime returns Skew_Time for the effective priority.
func (m *Machine) SkewTime() time.Duration {
	if m.cfg.Version == 2 {
		return time.Duration(256-int(m.eff)) * time.Second / 256
	}
	return time.Duration(256-int(m.eff)) * m.masterAdver / 256
}

// MasterDownInterval returns Master_Down_Interval = 3 ×
// Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	return 3*m.masterAdver + m.SkewTime()
}

// NextDeadline returns the time at which Handle must next be called with
// EventTimer, or the zero time if no timer is running.
func (m *Machine) NextDeadline() time.Time {
	switch m.state {
	case StateMaster:
		return m.adverAt
	case StateBackup:
		return m.masterDownAt
	}
	return time.Time{}
}

// Handle processes ev at time now and returns the resulting actions, in
// order. The returned slice and the payloads in it are reused by the next
// call to Handle.
func (m *Machine) Handle(now time.Time, ev Event) []Action {
	m.actions = m.actions[:0]
	m.buf = m.buf[:0]
	switch ev.Kind {
	case EventStart:
		if m.state == StateInit || m.state == StateStop {
			m.start(now)
		}
	case EventStop:
		m.stop(now)
	case EventTimer:
		m.timer(now)
	case EventPacket:
		m.receive(now, ev.Payload, ev.Meta)
	case EventPriority:
		if ev.Priority != 0 && ev.Priority != m.base {
			m.base = ev.Priority
			m.priorityChanged(now)
		}
	case EventTrack:
		for i, t := range m.cfg.Track {
			if t.Name == ev.Name {
				if m.up[i] != ev.Up {
					m.up[i] = ev.Up
					m.priorityChanged(now)
				}
				break
			}
		}
	case EventForce:
		m.force(now, ev.State)
	case EventGroupFault:
		if m.group != !ev.Up {
			m.group = !ev.Up
			m.faultChanged(now)
		}
	case EventJoinGroup:
		m.gated = true
	case EventMasterDown:
		m.masterDownHint(now, ev.Addr.WithZone("").Unmap())
	}
	return m.actions
}

// Master returns the address of the master a BACKUP last heard from (the
// source of the last advertisement that refreshed its master down timer),
// or the invalid address if it has heard none since it became BACKUP, or
// it is not BACKUP.
func (m *Machine) Master() netip.Addr { return m.master }

func (m *Machine) masterDownHint(now time.Time, a netip.Addr) {
	if m.state != StateBackup || !m.master.IsValid() || a != m.master || m.masterDownAt.IsZero() {
		m.stats.MasterDownHintsIgnored++
		return
	}
	m.stats.MasterDownHints++
	m.masterDownAt = now
	m.downCause = ReasonMasterDownHint
	m.timer(now)
}

// recompute sets the effective priority and own fault from the tracked
// objects, and reports whether the own fault changed.
func (m *Machine) recompute() (faultChanged bool) {
	fault := false
	sum := 0
	for i, t := range m.cfg.Track {
		up := m.up[i]
		if t.Weight == 0 {
			if up == t.Reverse {
				fault = true
			}
			continue
		}
		d := 0
		if (up && t.Weight > 0) || (!up && t.Weight < 0) {
			d = t.Weight
		}
		if t.Reverse {
			d = -d
		}
		sum += d
	}
	if m.base == PriorityOwner {
		m.eff = PriorityOwner
	} else {
		m.eff = uint8(max(1, min(254, int(m.base)+sum)))
	}
	changed := fault != m.own
	m.own = fault
	return changed
}

func (m *Machine) faulted() bool { return m.own || m.group }

func (m *Machine) priorityChanged(now time.Time) {
	old := m.eff
	if m.recompute() {
		m.actions = append(m.actions, Action{Kind: ActionFaultChange, Faulted: m.own})
		if m.faultChanged(now) {
			return
		}
	}
	if m.eff != old && m.state == StateMaster {
		// Advertise the new priority at once.
		m.sendAdvert(m.eff)
		m.adverAt = now.Add(m.cfg.AdvertInterval)
	}
}

// faultChanged applies a change of the fault condition; it reports whether
// the state changed.
func (m *Machine) faultChanged(now time.Time) bool {
	if !m.started {
		return false
	}
	switch {
	case m.faulted() && m.state != StateFault:
		if m.state == StateMaster {
			m.sendAdvert(PriorityStop)
		}
		r := ReasonFault
		if !m.own {
			r = ReasonSyncGroup
		}
		m.transition(now, StateFault, r)
		return true
	case !m.faulted() && m.state == StateFault:
		m.enterRunning(now, ReasonFaultCleared)
		return true
	}
	return false
}

func (m *Machine) start(now time.Time) {
	m.started = true
	if m.faulted() {
		r := ReasonFault
		if !m.own {
			r = ReasonSyncGroup
		}
		m.transition(now, StateFault, r)
		return
	}
	m.enterRunning(now, ReasonStartup)
}

// enterRunning goes to MASTER (owner) or BACKUP after startup or fault.
func (m *Machine) enterRunning(now time.Time, r Reason) {
	m.preemptAt = now.Add(m.cfg.PreemptDelay)
	m.masterAdver = m.cfg.AdvertInterval
	if m.eff == PriorityOwner && m.cfg.InitialState != StateBackup {
		if r == ReasonStartup {
			r = ReasonOwner
		}
		m.becomeMaster(now, r)
		return
	}
	m.becomeBackup(now, r)
}

func (m *Machine) stop(now time.Time) {
	if !m.started {
		return
	}
	m.started = false
	if m.state == StateMaster {
		m.sendAdvert(PriorityStop)
	}
	m.transition(now, StateStop, ReasonShutdown)
}

func (m *Machine) timer(now time.Time) {
	switch m.state {
	case StateMaster:
		if !m.adverAt.IsZero() && !now.Before(m.adverAt) {
			m.sendAdvert(m.eff)
			m.adverAt = now.Add(m.cfg.AdvertInterval)
		}
	case StateBackup:
		if !m.masterDownAt.IsZero() && !now.Before(m.masterDownAt) {
			if m.gated {
				// Wait for the sync group; keep the timer running so
				// that the wish is repeated.
				m.masterDownAt = now.Add(m.MasterDownInterval())
				m.setWant(true)
				return
			}
			m.becomeMaster(now, m.downCause)
		}
	}
}

func (m *Machine) setWant(w bool) {
	if m.want != w {
		m.want = w
		m.actions = append(m.actions, Action{Kind: ActionWantMaster, Want: w})
	}
}

func (m *Machine) force(now time.Time, s State) {
	switch {
	case s == StateMaster && m.state == StateBackup:
		r := ReasonSyncGroup
		if m.want {
			r = m.downCause // its own timer expired too
		}
		m.becomeMaster(now, r)
	case s == StateBackup && m.state == StateMaster:
		m.sendAdvert(PriorityStop)
		m.becomeBackup(now, ReasonSyncGroup)
	}
}

func (m *Machine) becomeMaster(now time.Time, r Reason) {
	m.sendAdvert(m.eff)
	m.adverAt = now.Add(m.cfg.AdvertInterval)
	m.masterDownAt = time.Time{}
	m.stats.BecameMaster++
	m.transition(now, StateMaster, r)
}

func (m *Machine) becomeBackup(now time.Time, r Reason) {
	m.adverAt = time.Time{}
	m.master = netip.Addr{}
	m.masterDownAt = now.Add(m.MasterDownInterval())
	m.downCause = ReasonMasterDown
	if m.state == StateMaster {
		m.stats.ReleasedMaster++
	}
	m.transition(now, StateBackup, r)
}

func (m *Machine) transition(now time.Time, to State, r Reason) {
	m.want = false
	if to != StateMaster {
		m.adverAt = time.Time{}
	}
	if to != StateBackup {
		m.masterDownAt = time.Time{}
		m.master = netip.Addr{}
	}
	from := m.state
	m.state = to
	m.stats.Transitions++
	m.actions = append(m.actions, Action{Kind: ActionTransition, Transition: Transition{From: from, To: to, Reason: r, At: now, Priority: m.eff}})
}

// sendAdvert appends send actions for an advertisement with priority prio.
func (m *Machine) sendAdvert(prio uint8) {
	p := &m.tx
	p.Version = uint8(m.cfg.Version)
	p.Type = TypeAdvertisement
	p.VRID = m.cfg.VRID
	p.Priority = prio
	p.AdvertInterval = m.cfg.AdvertInterval
	p.Addrs = m.cfg.Addrs
	if m.cfg.Version == 2 {
		p.AuthType = m.cfg.AuthType
		p.AuthData = [8]byte{}
		if m.cfg.AuthType == AuthSimple {
			copy(p.AuthData[:], m.cfg.AuthPass)
		}
	}
	if len(m.cfg.Peers) == 0 {
		m.sendTo(m.cfg.MulticastGroup, prio)
		return
	}
	for _, dst := range m.cfg.Peers {
		m.sendTo(dst, prio)
	}
}

func (m *Machine) sendTo(dst netip.Addr, prio uint8) {
	start := len(m.buf)
	src, d := m.cfg.Source, dst
	if m.cfg.Version == 2 || (m.cfg.is4() && m.sendMode == ChecksumNoPseudoHeader) {
		src, d = netip.Addr{}, netip.Addr{}
	}
	b, err := m.tx.AppendChecksummed(m.buf, src, d)
	if err != nil { // unreachable: the config was validated
		m.stats.SendErrors++
		return
	}
	m.buf = b
	m.stats.AdvertsSent++
	if prio == PriorityStop {
		m.stats.PriorityZeroSent++
	}
	m.actions = append(m.actions, Action{Kind: ActionSend, Dst: dst, Payload: b[start:len(b):len(b)]})
}

// drop counts a dropped message.
func (m *Machine) drop(r DropReason) { m.stats.Drops[r]++ }

func (m *Machine) receive(now time.Time, b []byte, meta Meta) {
	m.stats.PacketsReceived++
	src := meta.Src.WithZone("").Unmap()
	dst := meta.Dst.WithZone("").Unmap()
	if meta.TTL >= 0 {
		lo, hi := 255, 255
		if len(m.cfg.Peers) > 0 {
			r := m.cfg.UnicastTTL
			if pr, ok := m.cfg.PeerTTL[src]; ok {
				r = pr
			}
			lo, hi = int(r.Min), int(r.Max)
		}
		if meta.TTL < lo || meta.TTL > hi {
			m.drop(DropTTL)
			return
		}
	}
	if !src.IsValid() || src.Is4() != m.cfg.is4() || (dst.IsValid() && dst.Is4() != src.Is4()) {
		m.drop(DropFamily)
		return
	}
	p := &m.rx
	if err := p.Decode(b, !m.cfg.is4()); err != nil {
		var pe *ParseError
		switch {
		case errors.As(err, &pe) && pe.Field == "version":
			m.drop(DropVersion)
		case pe != nil && pe.Field == "type":
			m.drop(DropType)
		default:
			m.drop(DropLength)
		}
		return
	}
	if int(p.Version) != m.cfg.Version {
		m.drop(DropVersion)
		return
	}
	if p.VRID != m.cfg.VRID {
		m.drop(DropVRID)
		return
	}
	msg := b[:EncodedLen(b, !m.cfg.is4())]
	mode, ok := VerifyChecksum(msg, src, dst)
	if !ok || (m.cfg.Version == 3 && m.cfg.is4() && m.cfg.ChecksumAccept == AcceptConfigured && mode != m.cfg.Checksum) {
		m.drop(DropChecksum)
		return
	}
	if m.cfg.Version == 2 {
		if p.AuthType != m.cfg.AuthType {
			m.drop(DropAuthType)
			return
		}
		if m.cfg.AuthType == AuthSimple {
			var want [8]byte
			copy(want[:], m.cfg.AuthPass)
			if p.AuthData != want {
				m.drop(DropAuth)
				return
			}
		}
		if p.AdvertInterval != m.cfg.AdvertInterval {
			m.drop(DropInterval)
			return
		}
	} else if p.AdvertInterval == 0 {
		m.drop(DropInterval)
		return
	}
	if src == m.cfg.Source {
		m.drop(DropOwnAddress)
		return
	}
	if m.cfg.CheckUnicastSource && len(m.cfg.Peers) > 0 && !containsAddr(m.cfg.Peers, src) {
		m.drop(DropPeer)
		return
	}
	if !sameAddrs(p.Addrs, m.cfg.Addrs) {
		if m.cfg.StrictAddrs {
			m.drop(DropAddrs)
			return
		}
		m.stats.AddrMismatch++
	}
	if m.state != StateBackup && m.state != StateMaster {
		m.drop(DropNotRunning)
		return
	}
	if m.cfg.Version == 3 && m.cfg.is4() && m.cfg.ChecksumAccept == AcceptDetect && mode != m.sendMode {
		m.sendMode = mode
		m.stats.ChecksumModeChanges++
	}
	m.stats.AdvertsReceived++
	if p.Priority == PriorityStop {
		m.stats.PriorityZeroReceived++
	}
	if m.state == StateBackup {
		m.backupReceive(now, p, src)
	} else {
		m.masterReceive(now, p, src)
	}
}

func (m *Machine) learnInterval(p *Packet) {
	if m.cfg.Version == 3 {
		m.masterAdver = p.AdvertInterval
	}
}

// backupReceive is RFC 5798 §6.4.2 for a valid advertisement.
func (m *Machine) backupReceive(now time.Time, p *Packet, src netip.Addr) {
	switch {
	case p.Priority == PriorityStop:
		m.masterDownAt = now.Add(m.SkewTime())
		m.downCause = ReasonMasterStopped
		m.master = src
	case m.cfg.NoPreempt || p.Priority >= m.eff || now.Before(m.preemptAt):
		m.master = src
		m.learnInterval(p)
		m.masterDownAt = now.Add(m.MasterDownInterval())
		m.downCause = ReasonMasterDown
		m.setWant(false)
	default:
		// Lower priority and preempting: discard; the master down timer
		// will expire.
		m.downCause = ReasonPreempt
	}
}

// masterReceive is RFC 5798 §6.4.3 for a valid advertisement.
func (m *Machine) masterReceive(now time.Time, p *Packet, src netip.Addr) {
	switch {
	case p.Priority == PriorityStop:
		m.sendAdvert(m.eff)
		m.adverAt = now.Add(m.cfg.AdvertInterval)
	case p.Priority > m.eff || (p.Priority == m.eff && src.Compare(m.cfg.Source) > 0):
		if m.cfg.HigherPrioSendAdvert {
			m.sendAdvert(m.eff)
		}
		m.learnInterval(p)
		r := ReasonHigherPriority
		if p.Priority == m.eff {
			r = ReasonTieBreak
		}
		m.becomeBackup(now, r)
		m.master = src
	default:
		if !m.cfg.LowerPrioNoAdvert {
			m.sendAdvert(m.eff)
			m.adverAt = now.Add(m.cfg.AdvertInterval)
		}
		m.stats.LowerPriorityReceived++
		m.actions = append(m.actions, Action{Kind: ActionLowerPriority, Advert: PeerAdvert{From: src, Priority: p.Priority, At: now}})
	}
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

// sameAddrs reports whether a and b hold the same set of addresses.
func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsAddr(b, x) {
			return false
		}
	}
	return true
}

// ErrReconfigure is returned by Update for changes that need a new
// instance (VRID, version, address family).
var ErrReconfigure = errors.New("change needs a new instance")

// Update applies a new configuration without a spurious transition: the
// state and running timers are kept. A MASTER advertises at once if its
// priority, interval or addresses changed. A change of the tracked objects
// keeps the state of objects with the same name (new ones start up), and
// may fault or unfault the instance, which is a real transition. VRID,
// version and address family cannot change ([ErrReconfigure]).
func (m *Machine) Update(now time.Time, cfg Config) ([]Action, error) {
	n, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if n.VRID != m.cfg.VRID || n.Version != m.cfg.Version || n.Source.Is4() != m.cfg.Source.Is4() {
		return nil, fmt.Errorf("vrrp: update of VRID, version or family: %w", ErrReconfigure)
	}
	m.actions = m.actions[:0]
	m.buf = m.buf[:0]
	old := m.cfg
	up := make([]bool, len(n.Track))
	for i, t := range n.Track {
		up[i] = true
		for j, o := range old.Track {
			if o.Name == t.Name {
				up[i] = m.up[j]
			}
		}
	}
	m.cfg, m.up, m.base = n, up, n.Priority
	if n.Checksum != old.Checksum {
		m.sendMode = n.Checksum
	}
	if m.cfg.Version == 2 || m.state != StateBackup {
		m.masterAdver = n.AdvertInterval
	}
	oldEff := m.eff
	if m.recompute() {
		m.actions = append(m.actions, Action{Kind: ActionFaultChange, Faulted: m.own})
		if m.faultChanged(now) {
			return m.actions, nil
		}
	}
	if m.state == StateMaster && (m.eff != oldEff || n.AdvertInterval != old.AdvertInterval || !sameAddrs(n.Addrs, old.Addrs) ||
		n.AuthPass != old.AuthPass || n.AuthType != old.AuthType) {
		m.sendAdvert(m.eff)
		m.adverAt = now.Add(n.AdvertInterval)
	}
	return m.actions, nil
}
