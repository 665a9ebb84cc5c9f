package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	moby "github.com/moby/ipvs"
)

// Moby is a [Kernel] over a github.com/moby/ipvs handle, for programs that
// already hold one. Services, real servers and timeouts go through moby;
// what moby lacks (sync daemons, zeroing counters) goes through this
// package's own [Netlink] socket, opened in the calling thread's network
// namespace, which must be the handle's.
//
// Limits that come from moby/ipvs v1.1.0, which [Netlink] does not have:
// tunnel types other than IPIP and real servers of another address family
// fail with ErrNotSupported (moby sends neither); statistics are 32-bit;
// the persistence engine is not read back; and a moby call that the kernel
// never answers blocks its goroutine until h is closed (moby retries), so
// ctx frees the caller but not that goroutine. Prefer [Open].
type Moby struct {
	h  *moby.Handle
	nl *Netlink
}

var _ Kernel = (*Moby)(nil)

// NewMoby returns a Kernel using h. Close closes the extra socket, not h.
func NewMoby(ctx context.Context, h *moby.Handle) (*Moby, error) {
	if h == nil {
		return nil, errors.New("ipvs: nil moby handle")
	}
	nl, err := Open(ctx)
	if err != nil {
		return nil, err
	}
	return &Moby{h: h, nl: nl}, nil
}

// Close closes the extra netlink socket.
func (k *Moby) Close() error { return k.nl.Close() }

// call runs fn on its own goroutine and waits for it or ctx.
func call(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func toMobyService(s Service) *moby.Service {
	ms := &moby.Service{AddressFamily: uint16(s.Key.Family), FWMark: s.Key.FWMark}
	if !s.Key.IsFWMark() {
		ms.Protocol, ms.Port, ms.Address = uint16(s.Key.Protocol), s.Key.Port, net.IP(s.Key.Addr.AsSlice())
	}
	a := s.attrs()
	ms.SchedName, ms.PEName = string(a.sched), a.engine
	ms.Flags = uint32(a.flags)
	if a.timeout > 0 {
		ms.Flags |= uint32(flagPersistent)
	}
	ms.Timeout = uint32(a.timeout / time.Second)
	// moby sends Netmask in host order; the kernel wants an IPv4 mask in
	// network order and an IPv6 prefix length.
	ms.Netmask = ne.Uint32(encodeNetmask(s.Key.Family, a.netmask))
	return ms
}

func fromMobyService(ms *moby.Service) (Service, error) {
	s := Service{Key: ServiceKey{Family: Family(ms.AddressFamily), FWMark: ms.FWMark}, Scheduler: Scheduler(ms.SchedName)}
	if !s.Key.IsFWMark() {
		a, ok := netip.AddrFromSlice(ms.Address)
		if !ok {
			return Service{}, fmt.Errorf("%w: service address %v", errMalformed, ms.Address)
		}
		s.Key.Protocol, s.Key.Port, s.Key.Addr = Protocol(ms.Protocol), ms.Port, a.Unmap()
	}
	s.Flags = SchedFlags(ms.Flags) & userFlags
	if SchedFlags(ms.Flags)&flagPersistent != 0 {
		s.Persistence.Timeout = time.Duration(ms.Timeout) * time.Second
		// moby hands the kernel's value over in host order (4 bytes: no error).
		s.Persistence.Netmask, _ = persistenceNetmask(s.Key.Family, ne.AppendUint32(nil, ms.Netmask))
	}
	s.Stats = fromMobyStats(ms.Stats)
	return s, nil
}

// fromMobyStats converts moby's 32-bit statistics (64-bit byte counters).
func fromMobyStats(st moby.SvcStats) Stats {
	return Stats{Conns: uint64(st.Connections), PktsIn: uint64(st.PacketsIn), PktsOut: uint64(st.PacketsOut),
		BytesIn: st.BytesIn, BytesOut: st.BytesOut, CPS: uint64(st.CPS), PPSIn: uint64(st.PPSIn),
		PPSOut: uint64(st.PPSOut), BPSIn: uint64(st.BPSIn), BPSOut: uint64(st.BPSOut)}
}

func toMobyDest(svc ServiceKey, d Destination) (*moby.Destination, error) {
	if d.Forward == Tunnel && (d.TunnelType != IPIP || d.TunnelFlags != 0) {
		return nil, fmt.Errorf("moby/ipvs cannot set tunnel type %v: %w", d.TunnelType, ErrNotSupported)
	}
	if familyOf(d.Addr.Addr()) != svc.Family {
		return nil, fmt.Errorf("moby/ipvs cannot add a real server of another family: %w", ErrNotSupported)
	}
	return &moby.Destination{Address: net.IP(d.Addr.Addr().AsSlice()), Port: d.Addr.Port(), Weight: d.Weight,
		ConnectionFlags: uint32(d.Forward), AddressFamily: uint16(svc.Family),
		UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold}, nil
}

// State implements [Kernel].
func (k *Moby) State(ctx context.Context) (State, error) {
	var st State
	err := call(ctx, func() error {
		mss, err := k.h.GetServices()
		if err != nil {
			return fmt.Errorf("ipvs: list services: %w", err)
		}
		for _, ms := range mss {
			s, err := fromMobyService(ms)
			if err != nil {
				return err
			}
			mds, err := k.h.GetDestinations(ms)
			if err != nil {
				return fmt.Errorf("ipvs: list real servers of %v: %w", s.Key, err)
			}
			for _, md := range mds {
				a, ok := netip.AddrFromSlice(md.Address)
				if !ok {
					return fmt.Errorf("%w: real server address %v", errMalformed, md.Address)
				}
				s.Destinations = append(s.Destinations, Destination{
					Addr: netip.AddrPortFrom(a.Unmap(), md.Port), Weight: md.Weight,
					Forward: Forward(md.ConnectionFlags & 7), UpperThreshold: md.UpperThreshold, LowerThreshold: md.LowerThreshold,
					Counters: Counters{ActiveConns: uint32(md.ActiveConnections), InactiveConns: uint32(md.InactiveConnections),
						Stats: fromMobyStats(moby.SvcStats(md.Stats))},
				})
			}
			st.Services = append(st.Services, s)
		}
		c, err := k.h.GetConfig()
		if err != nil {
			return fmt.Errorf("ipvs: get timeouts: %w", err)
		}
		st.Timeouts = &Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}
		return nil
	})
	return st, err
}

// Exec implements [Kernel].
func (k *Moby) Exec(ctx context.Context, op Op) error {
	ms := toMobyService(op.Service)
	var fn func() error
	switch op.Kind {
	case AddService:
		fn = func() error { return k.h.NewService(ms) }
	case UpdateService:
		fn = func() error { return k.h.UpdateService(ms) }
	case DeleteService:
		fn = func() error { return k.h.DelService(ms) }
	case AddDestination, UpdateDestination, DeleteDestination:
		md, err := toMobyDest(op.Service.Key, op.Destination)
		if err != nil && op.Kind != DeleteDestination {
			return &OpError{Op: op, Err: err}
		}
		if md == nil {
			md = &moby.Destination{Address: net.IP(op.Destination.Addr.Addr().AsSlice()), Port: op.Destination.Addr.Port()}
		}
		switch op.Kind {
		case AddDestination:
			fn = func() error { return k.h.NewDestination(ms, md) }
		case UpdateDestination:
			fn = func() error { return k.h.UpdateDestination(ms, md) }
		default:
			fn = func() error { return k.h.DelDestination(ms, md) }
		}
	case SetTimeouts:
		t := op.Timeouts
		fn = func() error {
			return k.h.SetConfig(&moby.Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP})
		}
	default:
		return &OpError{Op: op, Err: fmt.Errorf("operation %v unknown: %w", op.Kind, ErrInvalid)}
	}
	if err := call(ctx, fn); err != nil {
		return opError(op, err)
	}
	return nil
}

// Daemons implements [Kernel] over the package's own socket.
func (k *Moby) Daemons(ctx context.Context) ([]SyncDaemon, error) { return k.nl.Daemons(ctx) }

// StartDaemon implements [Kernel] over the package's own socket.
func (k *Moby) StartDaemon(ctx context.Context, d SyncDaemon) error { return k.nl.StartDaemon(ctx, d) }

// StopDaemon implements [Kernel] over the package's own socket.
func (k *Moby) StopDaemon(ctx context.Context, r Role) error { return k.nl.StopDaemon(ctx, r) }

// Zero implements [Kernel] over the package's own socket.
func (k *Moby) Zero(ctx context.Context, key ServiceKey) error { return k.nl.Zero(ctx, key) }
