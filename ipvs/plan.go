package ipvs

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// OpKind is the kind of a kernel operation.
type OpKind uint8

// Operation kinds. The zero value is invalid.
const (
	_ OpKind = iota
	AddService
	UpdateService
	DeleteService
	AddDestination
	UpdateDestination
	DeleteDestination
	SetTimeouts
)

var opNames = [...]string{"invalid", "add-service", "update-service", "delete-service",
	"add-destination", "update-destination", "delete-destination", "set-timeouts"}

func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one kernel operation.
type Op struct {
	Kind OpKind
	// Service is the service to add or update (its Destinations are
	// ignored), or whose key the other operations use.
	Service Service
	// Destination is the real server of the destination operations (only
	// its Addr for DeleteDestination).
	Destination Destination
	// Timeouts is the value of SetTimeouts.
	Timeouts Timeouts
}

// String formats op like an ipvsadm command line.
func (op Op) String() string {
	var b strings.Builder
	svc := func() {
		k := op.Service.Key
		switch {
		case k.IsFWMark():
			fmt.Fprintf(&b, " -f %d", k.FWMark)
			if k.Family == IPv6 {
				b.WriteString(" -6")
			}
		case k.Protocol == UDP:
			fmt.Fprintf(&b, " -u %v", netip.AddrPortFrom(k.Addr, k.Port))
		case k.Protocol == SCTP:
			fmt.Fprintf(&b, " --sctp-service %v", netip.AddrPortFrom(k.Addr, k.Port))
		default:
			fmt.Fprintf(&b, " -t %v", netip.AddrPortFrom(k.Addr, k.Port))
		}
	}
	svcOpts := func() {
		s := op.Service
		fmt.Fprintf(&b, " -s %s", s.Scheduler.orDefault())
		if f := s.Flags & (SHFallback | SHPort); f != 0 {
			var names []string
			pfx := "sh"
			if s.Scheduler == MH {
				pfx = "mh"
			}
			if f&SHFallback != 0 {
				names = append(names, pfx+"-fallback")
			}
			if f&SHPort != 0 {
				names = append(names, pfx+"-port")
			}
			fmt.Fprintf(&b, " -b %s", strings.Join(names, ","))
		}
		if s.Flags&OnePacket != 0 {
			b.WriteString(" -o")
		}
		if p := s.Persistence; p.Timeout != 0 {
			fmt.Fprintf(&b, " -p %d", int(p.Timeout.Seconds()))
			if p.Netmask != 0 {
				fmt.Fprintf(&b, " -M %d", p.Netmask)
			}
			if p.Engine != "" {
				fmt.Fprintf(&b, " --pe %s", p.Engine)
			}
		}
	}
	dst := func(full bool) {
		d := op.Destination
		fmt.Fprintf(&b, " -r %v", d.Addr)
		if !full {
			return
		}
		switch d.Forward {
		case Route:
			b.WriteString(" -g")
		case Tunnel:
			b.WriteString(" -i")
			if d.TunnelType != IPIP {
				fmt.Fprintf(&b, " --tun-type %v", d.TunnelType)
				if d.TunnelType == GUE {
					fmt.Fprintf(&b, " --tun-port %d", d.TunnelPort)
				}
				switch {
				case d.TunnelFlags&TunnelRemCsum != 0:
					b.WriteString(" --tun-remcsum")
				case d.TunnelFlags&TunnelCsum != 0:
					b.WriteString(" --tun-csum")
				}
			}
		case NAT:
			b.WriteString(" -m")
		default:
			fmt.Fprintf(&b, " --forward %v", d.Forward)
		}
		fmt.Fprintf(&b, " -w %d", d.Weight)
		if d.UpperThreshold != 0 {
			fmt.Fprintf(&b, " -x %d", d.UpperThreshold)
		}
		if d.LowerThreshold != 0 {
			fmt.Fprintf(&b, " -y %d", d.LowerThreshold)
		}
	}
	switch op.Kind {
	case AddService:
		b.WriteString("-A")
		svc()
		svcOpts()
	case UpdateService:
		b.WriteString("-E")
		svc()
		svcOpts()
	case DeleteService:
		b.WriteString("-D")
		svc()
	case AddDestination:
		b.WriteString("-a")
		svc()
		dst(true)
	case UpdateDestination:
		b.WriteString("-e")
		svc()
		dst(true)
	case DeleteDestination:
		b.WriteString("-d")
		svc()
		dst(false)
	case SetTimeouts:
		t := op.Timeouts
		fmt.Fprintf(&b, "--set %d %d %d", int(t.TCP.Seconds()), int(t.TCPFin.Seconds()), int(t.UDP.Seconds()))
	default:
		return op.Kind.String()
	}
	return b.String()
}

// DestinationKey identifies a real server of a service.
type DestinationKey struct {
	Service ServiceKey
	Addr    netip.AddrPort
}

// Owned records which kernel objects a manager created, and so may remove.
// The zero value owns nothing.
type Owned struct {
	Services     map[ServiceKey]bool
	Destinations map[DestinationKey]bool
}

// Clone returns a deep copy of o.
func (o Owned) Clone() Owned {
	c := Owned{Services: make(map[ServiceKey]bool, len(o.Services)),
		Destinations: make(map[DestinationKey]bool, len(o.Destinations))}
	for k, v := range o.Services {
		if v {
			c.Services[k] = true
		}
	}
	for k, v := range o.Destinations {
		if v {
			c.Destinations[k] = true
		}
	}
	return c
}

// Track updates o for an operation that succeeded.
func (o *Owned) Track(op Op) {
	if o.Services == nil {
		o.Services = make(map[ServiceKey]bool)
	}
	if o.Destinations == nil {
		o.Destinations = make(map[DestinationKey]bool)
	}
	k := op.Service.Key
	switch op.Kind {
	case AddService:
		o.Services[k] = true
	case DeleteService:
		delete(o.Services, k)
		for dk := range o.Destinations {
			if dk.Service == k {
				delete(o.Destinations, dk)
			}
		}
	case AddDestination:
		o.Destinations[DestinationKey{k, op.Destination.Addr}] = true
	case DeleteDestination:
		delete(o.Destinations, DestinationKey{k, op.Destination.Addr})
	}
}

// Removal says what happens to an owned real server or service that is no
// longer desired.
type Removal uint8

const (
	// Delete removes it at once.
	Delete Removal = iota
	// Drain first sets the real server's weight to 0 (no new connections);
	// a later plan deletes it once the kernel reports no connections. An
	// owned service is deleted when the last of our real servers in it is
	// gone.
	Drain
)

// PlanOptions tune [Plan]. The zero value deletes at once.
type PlanOptions struct {
	Removal Removal
}

// Plan returns the minimal operations that turn current into desired, in
// the order to apply them. It never touches what desired does not name
// unless owned says it was created by us: only owned services and real
// servers that are no longer desired are removed (or drained). A service
// present in both is updated in place when its settings differ, a real
// server whose weight, thresholds or forwarding differ is updated (never
// deleted and re-added), and an unchanged one gets no operation. New real
// servers are added before old ones are removed. Global timeouts are set
// when desired.Timeouts has a nonzero field that differs.
//
// Plan assumes desired is valid (see [State.Validate]).
func Plan(current, desired State, owned Owned, opts PlanOptions) []Op {
	var ops []Op
	if t := desired.Timeouts; t != nil {
		want, have := *t, Timeouts{}
		if current.Timeouts != nil {
			have = *current.Timeouts
		}
		if (want.TCP != 0 && want.TCP != have.TCP) || (want.TCPFin != 0 && want.TCPFin != have.TCPFin) ||
			(want.UDP != 0 && want.UDP != have.UDP) {
			ops = append(ops, Op{Kind: SetTimeouts, Timeouts: want})
		}
	}

	cur := make(map[ServiceKey]*Service, len(current.Services))
	for i := range current.Services {
		cur[current.Services[i].Key] = &current.Services[i]
	}
	want := make(map[ServiceKey]bool, len(desired.Services))

	dsvcs := sortedServices(desired.Services)
	for _, d := range dsvcs {
		want[d.Key] = true
		c, ok := cur[d.Key]
		if !ok {
			ops = append(ops, Op{Kind: AddService, Service: bare(*d)})
			for _, dd := range sortedDests(d.Destinations) {
				ops = append(ops, Op{Kind: AddDestination, Service: bare(*d), Destination: dd.config()})
			}
			continue
		}
		if c.attrs() != d.attrs() {
			ops = append(ops, Op{Kind: UpdateService, Service: bare(*d)})
		}
		have := make(map[netip.AddrPort]Destination, len(c.Destinations))
		for _, cd := range c.Destinations {
			have[cd.Addr] = cd
		}
		wantD := make(map[netip.AddrPort]bool, len(d.Destinations))
		for _, dd := range sortedDests(d.Destinations) {
			wantD[dd.Addr] = true
			cd, ok := have[dd.Addr]
			switch {
			case !ok:
				ops = append(ops, Op{Kind: AddDestination, Service: bare(*d), Destination: dd.config()})
			case cd.config() != dd.config():
				ops = append(ops, Op{Kind: UpdateDestination, Service: bare(*d), Destination: dd.config()})
			}
		}
		for _, cd := range sortedDests(c.Destinations) {
			if wantD[cd.Addr] || !owned.Destinations[DestinationKey{c.Key, cd.Addr}] {
				continue
			}
			ops = appendRemoveDest(ops, *c, cd, opts.Removal)
		}
	}

	for _, c := range sortedServices(current.Services) {
		if want[c.Key] {
			continue
		}
		if !owned.Services[c.Key] {
			// Someone else's service: only our real servers in it go.
			for _, cd := range sortedDests(c.Destinations) {
				if owned.Destinations[DestinationKey{c.Key, cd.Addr}] {
					ops = appendRemoveDest(ops, *c, cd, opts.Removal)
				}
			}
			continue
		}
		if opts.Removal == Delete {
			ops = append(ops, Op{Kind: DeleteService, Service: bare(*c)})
			continue
		}
		remaining := 0
		for _, cd := range sortedDests(c.Destinations) {
			if !owned.Destinations[DestinationKey{c.Key, cd.Addr}] {
				continue // someone else's: not drained by us, and it goes with our service
			}
			n := len(ops)
			ops = appendRemoveDest(ops, *c, cd, Drain)
			if len(ops) == n || ops[n].Kind != DeleteDestination {
				remaining++
			}
		}
		if remaining == 0 {
			ops = append(ops, Op{Kind: DeleteService, Service: bare(*c)})
		}
	}
	return ops
}

func appendRemoveDest(ops []Op, s Service, d Destination, r Removal) []Op {
	if r == Drain {
		if d.Weight != 0 {
			dd := d.config()
			dd.Weight = 0
			return append(ops, Op{Kind: UpdateDestination, Service: bare(s), Destination: dd})
		}
		if d.Counters.ActiveConns != 0 || d.Counters.InactiveConns != 0 {
			return ops // still draining
		}
	}
	return append(ops, Op{Kind: DeleteDestination, Service: bare(s), Destination: Destination{Addr: d.Addr}})
}

// bare returns s without real servers and counters.
func bare(s Service) Service {
	s.Destinations = nil
	s.Stats = Stats{}
	return s
}

func sortedServices(in []Service) []*Service {
	out := make([]*Service, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	slices.SortFunc(out, func(a, b *Service) int { return a.Key.Compare(b.Key) })
	return out
}

func sortedDests(in []Destination) []Destination {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b Destination) int { return a.Addr.Compare(b.Addr) })
	return out
}
