// Package ipvstest provides an in-memory model of the Linux IPVS table for
// tests: it holds state and rejects what the kernel rejects, with the same
// errors as the Linux implementation of ipvs.Kernel (duplicates, missing
// services and real servers, unknown schedulers and persistence engines,
// thresholds out of order, negative weights, mixed address families
// without tunnelling or with a sync daemon running, GUE without a port,
// non-unicast real servers). A shared table of cases checks this against
// the real kernel in the VM.
//
// It is stricter than Linux in one way: it also rejects, with
// ipvs.ErrInvalid, what ipvs.Service.Validate rejects and the kernel would
// accept (one-packet scheduling on TCP, sh/mh flags on other schedulers,
// unknown forwarding methods or tunnel types, weights above 65535, a NAT
// real server without a port, protocols other than TCP, UDP and SCTP).
// An ipvs.Manager validates before it calls the kernel, so through a
// Manager the two behave the same.
package ipvstest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nux-root/keepalived-go/ipvs"
)

// Kernel is an in-memory ipvs.Kernel. The zero value is not usable; call
// [NewKernel]. It is safe for concurrent use.
type Kernel struct {
	// Hook, if set, runs before every Exec; a non-nil error is returned
	// instead of performing the operation. It may block until ctx is done
	// to model a stuck kernel.
	Hook func(ctx context.Context, op ipvs.Op) error

	mu       sync.Mutex
	svcs     map[ipvs.ServiceKey]*ipvs.Service
	timeouts ipvs.Timeouts
	daemons  map[ipvs.Role]ipvs.SyncDaemon
	execs    int
}

// NewKernel returns an empty kernel with Linux's default timeouts
// (900 s, 120 s, 300 s).
func NewKernel() *Kernel {
	return &Kernel{
		svcs:     make(map[ipvs.ServiceKey]*ipvs.Service),
		timeouts: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second},
		daemons:  make(map[ipvs.Role]ipvs.SyncDaemon),
	}
}

var _ ipvs.Kernel = (*Kernel)(nil)

// Execs returns how many operations Exec performed successfully.
func (k *Kernel) Execs() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.execs
}

// State implements ipvs.Kernel. Services are sorted by key and real
// servers by address.
func (k *Kernel) State(ctx context.Context) (ipvs.State, error) {
	if err := ctx.Err(); err != nil {
		return ipvs.State{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	st := ipvs.State{Timeouts: new(k.timeouts)}
	for _, s := range k.svcs {
		c := s.Clone()
		slices.SortFunc(c.Destinations, func(a, b ipvs.Destination) int { return a.Addr.Compare(b.Addr) })
		st.Services = append(st.Services, c)
	}
	slices.SortFunc(st.Services, func(a, b ipvs.Service) int { return a.Key.Compare(b.Key) })
	return st, nil
}

// SetCounters sets the connection counters and statistics of a real server,
// as traffic would. It reports whether the real server exists.
func (k *Kernel) SetCounters(s ipvs.ServiceKey, d netip.AddrPort, c ipvs.Counters) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	svc := k.svcs[s]
	if svc == nil {
		return false
	}
	for i := range svc.Destinations {
		if svc.Destinations[i].Addr == d {
			svc.Destinations[i].Counters = c
			return true
		}
	}
	return false
}

func fail(op ipvs.Op, err error, format string, args ...any) error {
	return &ipvs.OpError{Op: op, Err: fmt.Errorf("%w: "+format, append([]any{err}, args...)...)}
}

func knownScheduler(s ipvs.Scheduler) bool {
	return s == "" || slices.Contains(ipvs.Schedulers(), s)
}

// checkService applies the kernel's checks of a service add or edit.
func checkService(op ipvs.Op) error {
	s := op.Service
	if !knownScheduler(s.Scheduler) {
		return fail(op, ipvs.ErrNoModule, "scheduler %q", s.Scheduler)
	}
	if e := s.Persistence.Engine; e != "" && e != "sip" {
		return fail(op, ipvs.ErrNoModule, "persistence engine %q", e)
	}
	if err := s.Validate(); err != nil {
		return fail(op, ipvs.ErrInvalid, "%s", strings.TrimPrefix(err.Error(), "ipvs: "))
	}
	return nil
}

func checkDest(op ipvs.Op, svc *ipvs.Service, syncing bool) error {
	d := op.Destination
	if d.Weight < 0 || d.LowerThreshold > d.UpperThreshold {
		return fail(op, ipvs.ErrInvalid, "weight or thresholds out of range")
	}
	if d.Addr.Addr().Is4() != (svc.Key.Family == ipvs.IPv4) {
		if d.Forward != ipvs.Tunnel || syncing {
			return fail(op, ipvs.ErrInvalid, "mixed address families need the tunnel method and no sync daemon")
		}
	}
	if d.Forward == ipvs.Tunnel && d.TunnelType == ipvs.GUE && d.TunnelPort == 0 {
		return fail(op, ipvs.ErrInvalid, "gue tunnel port is zero")
	}
	s := ipvs.Service{Key: svc.Key, Destinations: []ipvs.Destination{d}}
	if err := s.Validate(); err != nil {
		return fail(op, ipvs.ErrInvalid, "%s", strings.TrimPrefix(err.Error(), "ipvs: "))
	}
	return nil
}

// Exec implements ipvs.Kernel.
func (k *Kernel) Exec(ctx context.Context, op ipvs.Op) error {
	if k.Hook != nil {
		if err := k.Hook(ctx, op); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.exec(op); err != nil {
		return err
	}
	k.execs++
	return nil
}

func (k *Kernel) exec(op ipvs.Op) error {
	key := op.Service.Key
	svc := k.svcs[key]
	switch op.Kind {
	case ipvs.AddService, ipvs.UpdateService:
		if err := checkService(op); err != nil {
			return err
		}
		if op.Kind == ipvs.AddService && svc != nil {
			return fail(op, ipvs.ErrExist, "service %v", key)
		}
		if op.Kind == ipvs.UpdateService && svc == nil {
			return fail(op, ipvs.ErrNoService, "%v", key)
		}
		n := op.Service
		n.Destinations, n.Stats = nil, ipvs.Stats{}
		if n.Scheduler == "" {
			n.Scheduler = ipvs.WLC
		}
		if svc != nil {
			n.Destinations, n.Stats = svc.Destinations, svc.Stats
		}
		k.svcs[key] = &n
		return nil
	case ipvs.DeleteService:
		if svc == nil {
			return fail(op, ipvs.ErrNoService, "%v", key)
		}
		delete(k.svcs, key)
		return nil
	case ipvs.AddDestination, ipvs.UpdateDestination, ipvs.DeleteDestination:
		if svc == nil {
			return fail(op, ipvs.ErrNoService, "%v", key)
		}
		i := slices.IndexFunc(svc.Destinations, func(d ipvs.Destination) bool { return d.Addr == op.Destination.Addr })
		if op.Kind == ipvs.DeleteDestination {
			if i < 0 {
				return fail(op, ipvs.ErrNoDestination, "%v", op.Destination.Addr)
			}
			svc.Destinations = slices.Delete(svc.Destinations, i, i+1)
			return nil
		}
		if err := checkDest(op, svc, len(k.daemons) > 0); err != nil {
			return err
		}
		d := op.Destination
		if d.Forward != ipvs.Tunnel {
			d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
		}
		if op.Kind == ipvs.AddDestination {
			if i >= 0 {
				return fail(op, ipvs.ErrExist, "real server %v", d.Addr)
			}
			d.Counters = ipvs.Counters{}
			svc.Destinations = append(svc.Destinations, d)
			return nil
		}
		if i < 0 {
			return fail(op, ipvs.ErrNoDestination, "%v", d.Addr)
		}
		d.Counters = svc.Destinations[i].Counters
		svc.Destinations[i] = d
		return nil
	case ipvs.SetTimeouts:
		t := op.Timeouts
		for _, v := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
			if v < 0 || v%time.Second != 0 {
				return fail(op, ipvs.ErrInvalid, "timeout %v", v)
			}
		}
		if t.TCP != 0 {
			k.timeouts.TCP = t.TCP
		}
		if t.TCPFin != 0 {
			k.timeouts.TCPFin = t.TCPFin
		}
		if t.UDP != 0 {
			k.timeouts.UDP = t.UDP
		}
		return nil
	}
	return fail(op, ipvs.ErrInvalid, "unknown operation %v", op.Kind)
}

// Daemons implements ipvs.Kernel.
func (k *Kernel) Daemons(ctx context.Context) ([]ipvs.SyncDaemon, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []ipvs.SyncDaemon
	for _, r := range []ipvs.Role{ipvs.Master, ipvs.Backup} {
		if d, ok := k.daemons[r]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// StartDaemon implements ipvs.Kernel.
func (k *Kernel) StartDaemon(ctx context.Context, d ipvs.SyncDaemon) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ipvs.ErrInvalid, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.daemons[d.Role]; ok {
		return fmt.Errorf("ipvstest: start %v sync daemon: %w", d.Role, ipvs.ErrExist)
	}
	k.daemons[d.Role] = d
	return nil
}

// StopDaemon implements ipvs.Kernel.
func (k *Kernel) StopDaemon(ctx context.Context, r ipvs.Role) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.daemons[r]; !ok {
		return fmt.Errorf("ipvstest: stop %v sync daemon: %w", r, ipvs.ErrNoDaemon)
	}
	delete(k.daemons, r)
	return nil
}

// Zero implements ipvs.Kernel.
func (k *Kernel) Zero(ctx context.Context, key ipvs.ServiceKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	zero := func(s *ipvs.Service) {
		s.Stats = ipvs.Stats{}
		for i := range s.Destinations {
			s.Destinations[i].Counters.Stats = ipvs.Stats{}
		}
	}
	if key == (ipvs.ServiceKey{}) {
		for _, s := range k.svcs {
			zero(s)
		}
		return nil
	}
	s := k.svcs[key]
	if s == nil {
		return fmt.Errorf("ipvstest: zero %v: %w", key, ipvs.ErrNoService)
	}
	zero(s)
	return nil
}
