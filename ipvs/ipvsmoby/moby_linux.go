package ipvsmoby

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"time"

	moby "github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/nux-root/keepalived-go/ipvs"
)

// Kernel is an [ipvs.Kernel] over a github.com/moby/ipvs handle.
// Services, real servers and timeouts go through moby; what moby lacks
// (sync daemons, zeroing counters) goes through package ipvs's own
// [ipvs.Netlink] socket, opened in the calling thread's network namespace,
// which must be the handle's.
//
// Limits that come from moby/ipvs v1.1.0, which [ipvs.Netlink] does not
// have: tunnel types other than IPIP and real servers of another address
// family fail with [ipvs.ErrNotSupported] (moby sends neither); statistics
// are 32-bit; the persistence engine is not read back; and a moby call that
// the kernel never answers blocks its goroutine until h is closed (moby
// retries), so ctx frees the caller but not that goroutine. Prefer
// [ipvs.Open].
type Kernel struct {
	h  *moby.Handle
	nl *ipvs.Netlink
}

var _ ipvs.Kernel = (*Kernel)(nil)

// errMalformed reports an address moby handed back that is not one.
var errMalformed = errors.New("ipvsmoby: malformed address from moby/ipvs")

// New returns a Kernel using h. Close closes the extra socket, not h.
func New(ctx context.Context, h *moby.Handle) (*Kernel, error) {
	if h == nil {
		return nil, errors.New("ipvsmoby: nil moby handle")
	}
	nl, err := ipvs.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("ipvsmoby: %w", err)
	}
	return &Kernel{h: h, nl: nl}, nil
}

// Close closes the extra netlink socket.
func (k *Kernel) Close() error { return k.nl.Close() }

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

// Kernel flag bits (IP_VS_SVC_F_*) that are not part of [ipvs.SchedFlags]
// as users set them.
const (
	flagPersistent = 0x0001
	userFlags      = 0x0004 | 0x0008 | 0x0010 | 0x0020 // one-packet, sched1..3
)

// netmask is the persistence netmask the kernel is given: the full length
// unless set.
func netmask(s ipvs.Service) int {
	switch {
	case s.Persistence.Netmask != 0:
		return s.Persistence.Netmask
	case s.Key.Family == ipvs.IPv6:
		return 128
	}
	return 32
}

// encodeNetmask is the value moby sends as Netmask, which it writes in host
// order: for IPv4 a mask that must reach the kernel in network order, for
// IPv6 a prefix length.
func encodeNetmask(f ipvs.Family, n int) uint32 {
	if f == ipvs.IPv6 {
		return uint32(n)
	}
	var m uint32
	if n > 0 {
		m = ^uint32(0) << (32 - n)
	}
	return binary.NativeEndian.Uint32(binary.BigEndian.AppendUint32(nil, m))
}

// decodeNetmask inverts encodeNetmask as [ipvs.Persistence.Netmask]: the
// full length, the kernel's default, is 0.
func decodeNetmask(f ipvs.Family, v uint32) int {
	if f == ipvs.IPv6 {
		if v == 128 {
			return 0
		}
		return int(v)
	}
	n := bits.LeadingZeros32(^binary.BigEndian.Uint32(binary.NativeEndian.AppendUint32(nil, v)))
	if n == 32 {
		return 0
	}
	return n
}

func toMobyService(s ipvs.Service) *moby.Service {
	ms := &moby.Service{AddressFamily: uint16(s.Key.Family), FWMark: s.Key.FWMark}
	if !s.Key.IsFWMark() {
		ms.Protocol, ms.Port, ms.Address = uint16(s.Key.Protocol), s.Key.Port, net.IP(s.Key.Addr.AsSlice())
	}
	ms.SchedName = string(s.Scheduler)
	if ms.SchedName == "" {
		ms.SchedName = string(ipvs.WLC)
	}
	ms.PEName = s.Persistence.Engine
	ms.Flags = uint32(s.Flags) & userFlags
	if s.Persistence.Timeout > 0 {
		ms.Flags |= flagPersistent
	}
	ms.Timeout = uint32(s.Persistence.Timeout / time.Second)
	ms.Netmask = encodeNetmask(s.Key.Family, netmask(s))
	return ms
}

func fromMobyService(ms *moby.Service) (ipvs.Service, error) {
	s := ipvs.Service{Key: ipvs.ServiceKey{Family: ipvs.Family(ms.AddressFamily), FWMark: ms.FWMark}, Scheduler: ipvs.Scheduler(ms.SchedName)}
	if !s.Key.IsFWMark() {
		a, ok := netip.AddrFromSlice(ms.Address)
		if !ok {
			return ipvs.Service{}, fmt.Errorf("%w: service address %v", errMalformed, ms.Address)
		}
		s.Key.Protocol, s.Key.Port, s.Key.Addr = ipvs.Protocol(ms.Protocol), ms.Port, a.Unmap()
	}
	s.Flags = ipvs.SchedFlags(ms.Flags & userFlags)
	if ms.Flags&flagPersistent != 0 {
		s.Persistence.Timeout = time.Duration(ms.Timeout) * time.Second
		s.Persistence.Netmask = decodeNetmask(s.Key.Family, ms.Netmask)
	}
	s.Stats = fromMobyStats(ms.Stats)
	return s, nil
}

// fromMobyStats converts moby's 32-bit statistics (64-bit byte counters).
func fromMobyStats(st moby.SvcStats) ipvs.Stats {
	return ipvs.Stats{Conns: uint64(st.Connections), PktsIn: uint64(st.PacketsIn), PktsOut: uint64(st.PacketsOut),
		BytesIn: st.BytesIn, BytesOut: st.BytesOut, CPS: uint64(st.CPS), PPSIn: uint64(st.PPSIn),
		PPSOut: uint64(st.PPSOut), BPSIn: uint64(st.BPSIn), BPSOut: uint64(st.BPSOut)}
}

func familyOf(a netip.Addr) ipvs.Family {
	if a.Is4() {
		return ipvs.IPv4
	}
	return ipvs.IPv6
}

func toMobyDest(svc ipvs.ServiceKey, d ipvs.Destination) (*moby.Destination, error) {
	if d.Forward == ipvs.Tunnel && (d.TunnelType != ipvs.IPIP || d.TunnelFlags != 0) {
		return nil, fmt.Errorf("moby/ipvs cannot set tunnel type %v: %w", d.TunnelType, ipvs.ErrNotSupported)
	}
	if familyOf(d.Addr.Addr()) != svc.Family {
		return nil, fmt.Errorf("moby/ipvs cannot add a real server of another family: %w", ipvs.ErrNotSupported)
	}
	return &moby.Destination{Address: net.IP(d.Addr.Addr().AsSlice()), Port: d.Addr.Port(), Weight: d.Weight,
		ConnectionFlags: uint32(d.Forward), AddressFamily: uint16(svc.Family),
		UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold}, nil
}

// State implements [ipvs.Kernel].
func (k *Kernel) State(ctx context.Context) (ipvs.State, error) {
	var st ipvs.State
	err := call(ctx, func() error {
		mss, err := k.h.GetServices()
		if err != nil {
			return fmt.Errorf("ipvsmoby: list services: %w", err)
		}
		for _, ms := range mss {
			s, err := fromMobyService(ms)
			if err != nil {
				return err
			}
			mds, err := k.h.GetDestinations(ms)
			if err != nil {
				return fmt.Errorf("ipvsmoby: list real servers of %v: %w", s.Key, err)
			}
			for _, md := range mds {
				a, ok := netip.AddrFromSlice(md.Address)
				if !ok {
					return fmt.Errorf("%w: real server address %v", errMalformed, md.Address)
				}
				s.Destinations = append(s.Destinations, ipvs.Destination{
					Addr: netip.AddrPortFrom(a.Unmap(), md.Port), Weight: md.Weight,
					Forward: ipvs.Forward(md.ConnectionFlags & 7), UpperThreshold: md.UpperThreshold, LowerThreshold: md.LowerThreshold,
					Counters: ipvs.Counters{ActiveConns: uint32(md.ActiveConnections), InactiveConns: uint32(md.InactiveConnections),
						Stats: fromMobyStats(moby.SvcStats(md.Stats))},
				})
			}
			st.Services = append(st.Services, s)
		}
		c, err := k.h.GetConfig()
		if err != nil {
			return fmt.Errorf("ipvsmoby: get timeouts: %w", err)
		}
		st.Timeouts = &ipvs.Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}
		return nil
	})
	return st, err
}

// Exec implements [ipvs.Kernel].
func (k *Kernel) Exec(ctx context.Context, op ipvs.Op) error {
	ms := toMobyService(op.Service)
	var fn func() error
	switch op.Kind {
	case ipvs.AddService:
		fn = func() error { return k.h.NewService(ms) }
	case ipvs.UpdateService:
		fn = func() error { return k.h.UpdateService(ms) }
	case ipvs.DeleteService:
		fn = func() error { return k.h.DelService(ms) }
	case ipvs.AddDestination, ipvs.UpdateDestination, ipvs.DeleteDestination:
		md, err := toMobyDest(op.Service.Key, op.Destination)
		if err != nil && op.Kind != ipvs.DeleteDestination {
			return &ipvs.OpError{Op: op, Err: err}
		}
		if md == nil {
			md = &moby.Destination{Address: net.IP(op.Destination.Addr.Addr().AsSlice()), Port: op.Destination.Addr.Port()}
		}
		switch op.Kind {
		case ipvs.AddDestination:
			fn = func() error { return k.h.NewDestination(ms, md) }
		case ipvs.UpdateDestination:
			fn = func() error { return k.h.UpdateDestination(ms, md) }
		default:
			fn = func() error { return k.h.DelDestination(ms, md) }
		}
	case ipvs.SetTimeouts:
		t := op.Timeouts
		fn = func() error {
			return k.h.SetConfig(&moby.Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP})
		}
	default:
		return &ipvs.OpError{Op: op, Err: fmt.Errorf("operation %v unknown: %w", op.Kind, ipvs.ErrInvalid)}
	}
	if err := call(ctx, fn); err != nil {
		return &ipvs.OpError{Op: op, Err: classify(op, err)}
	}
	return nil
}

// errnoError is a kernel errno that also matches a package ipvs sentinel.
type errnoError struct {
	errno    unix.Errno
	sentinel error
}

func (e errnoError) Error() string        { return e.errno.Error() }
func (e errnoError) Unwrap() error        { return e.errno }
func (e errnoError) Is(target error) bool { return target == e.sentinel }

// classify maps the kernel's errno for op to package ipvs's sentinels, as
// [ipvs.Netlink] does: ENOENT means a missing real server for the
// operations on one, else a missing scheduler or persistence module.
func classify(op ipvs.Op, err error) error {
	var en unix.Errno
	if !errors.As(err, &en) {
		return err
	}
	var s error
	switch en {
	case unix.EEXIST:
		s = ipvs.ErrExist
	case unix.ESRCH:
		s = ipvs.ErrNoService
	case unix.ENOENT:
		s = ipvs.ErrNoModule
		if op.Kind == ipvs.UpdateDestination || op.Kind == ipvs.DeleteDestination {
			s = ipvs.ErrNoDestination
		}
	case unix.EINVAL, unix.ERANGE, unix.EAFNOSUPPORT, unix.EOPNOTSUPP:
		s = ipvs.ErrInvalid
	default:
		return err
	}
	return errnoError{en, s}
}

// Daemons implements [ipvs.Kernel] over package ipvs's own socket.
func (k *Kernel) Daemons(ctx context.Context) ([]ipvs.SyncDaemon, error) { return k.nl.Daemons(ctx) }

// StartDaemon implements [ipvs.Kernel] over package ipvs's own socket.
func (k *Kernel) StartDaemon(ctx context.Context, d ipvs.SyncDaemon) error {
	return k.nl.StartDaemon(ctx, d)
}

// StopDaemon implements [ipvs.Kernel] over package ipvs's own socket.
func (k *Kernel) StopDaemon(ctx context.Context, r ipvs.Role) error { return k.nl.StopDaemon(ctx, r) }

// Zero implements [ipvs.Kernel] over package ipvs's own socket.
func (k *Kernel) Zero(ctx context.Context, key ipvs.ServiceKey) error { return k.nl.Zero(ctx, key) }
