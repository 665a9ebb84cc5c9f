package ipvs

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// RealServer is a real server of a [VirtualServer] and how its health
// failures are handled.
type RealServer struct {
	// Destination is the real server as configured; its Weight is the
	// weight while healthy (unless a checker sets a dynamic weight).
	Destination Destination
	// InhibitOnFailure keeps a failed server in the kernel with weight 0
	// (existing connections live on) instead of removing it.
	InhibitOnFailure bool
	// Checkers names the health checks of the server; it is healthy only
	// when all of them pass. Reports for other names add checks. If empty,
	// reports for any name count.
	Checkers []string
}

// VirtualServer is keepalived's virtual_server: a service, its real
// servers and the health policy that turns check results into the desired
// [Service]. The zero values of the policy fields give keepalived's
// defaults: quorum 1, no hysteresis, no sorry server, servers start up.
type VirtualServer struct {
	// Service is the virtual service; its Destinations are ignored.
	Service Service
	// RealServers are the configured real servers.
	RealServers []RealServer
	// Quorum is the minimum total weight of healthy servers for the service
	// to be "up"; if zero, 1.
	Quorum int
	// Hysteresis is how far below Quorum the weight may fall before quorum
	// is lost, and how far above it must rise before it is regained.
	Hysteresis int
	// SorryServer, if set, replaces the real servers while quorum is lost.
	SorryServer *Destination
	// SorryServerInhibit keeps the sorry server in the kernel with weight 0
	// while quorum holds, instead of removing it.
	SorryServerInhibit bool
	// Alpha starts every check failed, so a server serves only after its
	// first passing checks (keepalived alpha). Otherwise servers start up.
	Alpha bool
	// Omega reports every healthy server down and quorum lost on Shutdown
	// (keepalived omega), so that down hooks run on exit.
	Omega bool
	// Hooks, if set, run on transitions, synchronously, from the method
	// that caused them. They must not call back into the Policy.
	OnQuorumUp       func()
	OnQuorumDown     func()
	OnRealServerUp   func(netip.AddrPort)
	OnRealServerDown func(netip.AddrPort)
}

// EventKind is the kind of a health-policy transition.
type EventKind uint8

// Event kinds.
const (
	_ EventKind = iota
	RealServerUp
	RealServerDown
	QuorumUp
	QuorumDown
)

func (k EventKind) String() string {
	switch k {
	case RealServerUp:
		return "real-server-up"
	case RealServerDown:
		return "real-server-down"
	case QuorumUp:
		return "quorum-up"
	case QuorumDown:
		return "quorum-down"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a health-policy transition. Addr is set for real-server events;
// Weight is the total weight of healthy servers after the transition.
type Event struct {
	Kind   EventKind
	Addr   netip.AddrPort
	Weight int
}

func (e Event) String() string {
	if e.Addr.IsValid() {
		return fmt.Sprintf("%v %v (healthy weight %d)", e.Kind, e.Addr, e.Weight)
	}
	return fmt.Sprintf("%v (healthy weight %d)", e.Kind, e.Weight)
}

type rsState struct {
	cfg     RealServer
	checks  map[string]bool // name -> passing
	dynamic int             // dynamic weight; -1 when unset
	up      bool
}

func (r *rsState) healthy() bool {
	for _, ok := range r.checks {
		if !ok {
			return false
		}
	}
	return true
}

func (r *rsState) weight() int {
	if r.dynamic >= 0 {
		return r.dynamic
	}
	return r.cfg.Destination.Weight
}

// Policy applies a [VirtualServer]'s health policy to check results. It is
// pure (no clock, no I/O, no goroutines) and not safe for concurrent use:
// drive it from one goroutine and hand [Policy.Service] to a Manager.
type Policy struct {
	vs       VirtualServer
	rs       []*rsState
	byAddr   map[netip.AddrPort]*rsState
	quorumUp bool
	down     bool // after Shutdown
}

// Validate checks vs.
func (vs *VirtualServer) Validate() error {
	s := vs.Service.Clone()
	s.Destinations = nil
	for _, r := range vs.RealServers {
		s.Destinations = append(s.Destinations, r.Destination)
	}
	var errs []error
	if vs.SorryServer != nil {
		if _, dup := s.Destination(vs.SorryServer.Addr); dup {
			errs = append(errs, fmt.Errorf("sorry server %v is also a real server", vs.SorryServer.Addr))
		}
		s.Destinations = append(s.Destinations, *vs.SorryServer)
	}
	if err := s.Validate(); err != nil {
		errs = append(errs, err)
	}
	if vs.Quorum < 0 || vs.Hysteresis < 0 {
		errs = append(errs, fmt.Errorf("quorum %d and hysteresis %d must not be negative", vs.Quorum, vs.Hysteresis))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("ipvs: virtual server %v: %w", vs.Service.Key, errors.Join(errs...))
}

// NewPolicy returns the policy of vs in its initial state: every server
// healthy, or with Alpha every check failed. Quorum starts from that state
// without firing hooks.
func NewPolicy(vs VirtualServer) (*Policy, error) {
	if err := vs.Validate(); err != nil {
		return nil, err
	}
	vs.RealServers = slices.Clone(vs.RealServers)
	if vs.SorryServer != nil {
		s := *vs.SorryServer
		vs.SorryServer = &s
	}
	if vs.Quorum == 0 {
		vs.Quorum = 1
	}
	p := &Policy{vs: vs, byAddr: make(map[netip.AddrPort]*rsState)}
	for _, r := range vs.RealServers {
		st := &rsState{cfg: r, checks: map[string]bool{}, dynamic: -1}
		for _, c := range r.Checkers {
			st.checks[c] = !vs.Alpha
		}
		if vs.Alpha && len(r.Checkers) == 0 {
			st.checks[""] = false
		}
		st.up = st.healthy()
		p.rs = append(p.rs, st)
		p.byAddr[r.Destination.Addr] = st
	}
	sum, n := p.liveWeight()
	p.quorumUp = n > 0 && sum >= vs.Quorum
	return p, nil
}

func (p *Policy) liveWeight() (sum, n int) {
	for _, r := range p.rs {
		if r.up {
			sum += r.weight()
			n++
		}
	}
	return sum, n
}

// Set records the result of checker on the real server at addr and
// returns the transitions it caused (also passed to the hooks). Unknown
// servers are ignored.
func (p *Policy) Set(addr netip.AddrPort, checker string, passing bool) []Event {
	r := p.byAddr[addr]
	if r == nil || p.down {
		return nil
	}
	if len(r.cfg.Checkers) == 0 {
		// Any name: the server follows the latest report.
		clear(r.checks)
	}
	r.checks[checker] = passing
	return p.update(r)
}

// SetWeight sets the dynamic weight of the real server at addr (a checker's
// weight report, keepalived's misc_dynamic); a negative weight returns to
// the configured one.
func (p *Policy) SetWeight(addr netip.AddrPort, weight int) []Event {
	r := p.byAddr[addr]
	if r == nil || p.down {
		return nil
	}
	r.dynamic = min(max(weight, -1), 65535)
	return p.update(r)
}

func (p *Policy) update(r *rsState) []Event {
	up := r.healthy()
	changed := up != r.up
	r.up = up
	sum, n := p.liveWeight()
	var evs []Event
	switch {
	case changed && up:
		evs = append(evs, Event{Kind: RealServerUp, Addr: r.cfg.Destination.Addr, Weight: sum})
	case changed:
		evs = append(evs, Event{Kind: RealServerDown, Addr: r.cfg.Destination.Addr, Weight: sum})
	}
	q, h := p.vs.Quorum, p.vs.Hysteresis
	switch {
	case p.quorumUp && (n == 0 || sum < q-h):
		p.quorumUp = false
		evs = append(evs, Event{Kind: QuorumDown, Weight: sum})
	case !p.quorumUp && n > 0 && sum >= q+h:
		p.quorumUp = true
		evs = append(evs, Event{Kind: QuorumUp, Weight: sum})
	}
	p.fire(evs)
	return evs
}

func (p *Policy) fire(evs []Event) {
	for _, e := range evs {
		switch {
		case e.Kind == RealServerUp && p.vs.OnRealServerUp != nil:
			p.vs.OnRealServerUp(e.Addr)
		case e.Kind == RealServerDown && p.vs.OnRealServerDown != nil:
			p.vs.OnRealServerDown(e.Addr)
		case e.Kind == QuorumUp && p.vs.OnQuorumUp != nil:
			p.vs.OnQuorumUp()
		case e.Kind == QuorumDown && p.vs.OnQuorumDown != nil:
			p.vs.OnQuorumDown()
		}
	}
}

// QuorumUp reports whether the healthy servers hold quorum.
func (p *Policy) QuorumUp() bool { return p.quorumUp }

// Up reports whether the real server at addr is healthy.
func (p *Policy) Up(addr netip.AddrPort) bool {
	r := p.byAddr[addr]
	return r != nil && r.up
}

// Service returns the desired service for the current health: healthy
// servers with their weights; failed ones absent, or with weight 0 under
// InhibitOnFailure; while quorum is lost and a sorry server is set, the
// sorry server instead of the healthy servers.
func (p *Policy) Service() Service {
	s := p.vs.Service.Clone()
	s.Destinations = nil
	sorry := p.vs.SorryServer != nil && !p.quorumUp
	for _, r := range p.rs {
		d := r.cfg.Destination.config()
		switch {
		case r.up && !sorry:
			d.Weight = r.weight()
		case r.cfg.InhibitOnFailure:
			d.Weight = 0
		default:
			continue
		}
		s.Destinations = append(s.Destinations, d)
	}
	if p.vs.SorryServer != nil {
		d := p.vs.SorryServer.config()
		switch {
		case sorry:
			s.Destinations = append(s.Destinations, d)
		case p.vs.SorryServerInhibit:
			d.Weight = 0
			s.Destinations = append(s.Destinations, d)
		}
	}
	return s
}

// Shutdown ends the policy. With Omega it reports every healthy server
// down and quorum lost (to the hooks too); later reports are ignored.
func (p *Policy) Shutdown() []Event {
	if p.down {
		return nil
	}
	p.down = true
	if !p.vs.Omega {
		return nil
	}
	var evs []Event
	for _, r := range p.rs {
		if r.up {
			r.up = false
			sum, _ := p.liveWeight()
			evs = append(evs, Event{Kind: RealServerDown, Addr: r.cfg.Destination.Addr, Weight: sum})
		}
	}
	if p.quorumUp {
		p.quorumUp = false
		evs = append(evs, Event{Kind: QuorumDown})
	}
	p.fire(evs)
	return evs
}
