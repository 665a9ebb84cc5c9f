package vip

// This file owns the Manager's lifecycle on Linux: the type and its state,
// New (netlink handle and socket in the namespace), running work inside
// the namespace, the ownership bookkeeping shared by routes and rules,
// RemoveAll, Close and Stats.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Manager adds and removes virtual addresses, routes, rules and VMAC
// interfaces in one network namespace, announces addresses with gratuitous
// ARP and unsolicited neighbour advertisements, and remembers exactly what it
// added so that RemoveAll and Close remove that and nothing else — never an
// identical address, route or rule an operator added before.
//
// A Manager is safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger
	h   *netlink.Handle
	ns  netns.NsHandle // netns.None() when working in the caller's namespace
	// rt is a NETLINK_ROUTE socket in the namespace for the address
	// requests netlink.Handle cannot make (IFA_PROTO).
	rt      map[int]*nl.SocketHandle
	noProto bool // the kernel does not keep IFA_PROTO (before Linux 6.3)

	mu      sync.Mutex
	closed  bool
	done    chan struct{} // closed by Close: ends watchers
	addrs   map[addrKey]Address
	routes  map[string]owned[Route, netlink.Route]
	rules   map[string]owned[Rule, netlink.Rule]
	vmacs   map[string]VMAC
	parents map[string]map[string]string // parent -> sysctl -> old value
	conns   map[int]*packet.Conn
	annc    map[string]*announcer
	filt    filter

	wg sync.WaitGroup

	st struct {
		addrsAdded, addrsRemoved, addrsPre atomic.Uint64
		routesAdded, routesRemoved         atomic.Uint64
		rulesAdded, rulesRemoved           atomic.Uint64
		vmacsCreated, vmacsDeleted         atomic.Uint64
		garps, nas, errors                 atomic.Uint64
		watchResyncs, watchErrors          atomic.Uint64
		filtered                           atomic.Uint64
	}
}

// New returns a Manager working in cfg.NetNS (or the current namespace).
func New(cfg Config) (*Manager, error) {
	m := &Manager{
		cfg:     cfg,
		log:     cfg.logger(),
		ns:      netns.None(),
		addrs:   map[addrKey]Address{},
		routes:  map[string]owned[Route, netlink.Route]{},
		rules:   map[string]owned[Rule, netlink.Rule]{},
		vmacs:   map[string]VMAC{},
		parents: map[string]map[string]string{},
		conns:   map[int]*packet.Conn{},
		annc:    map[string]*announcer{},
		done:    make(chan struct{}),
	}
	var err error
	if cfg.NetNS != "" {
		m.ns, err = netns.GetFromPath(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("vip: open namespace %s: %w", cfg.NetNS, err)
		}
		m.h, err = netlink.NewHandleAt(m.ns)
	} else {
		m.h, err = netlink.NewHandle()
	}
	if err != nil {
		if m.ns.IsOpen() {
			m.ns.Close()
		}
		return nil, fmt.Errorf("vip: netlink handle: %w", err)
	}
	var sock *nl.NetlinkSocket
	err = m.inNS(func() error {
		var err error
		sock, err = nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		m.h.Close()
		if m.ns.IsOpen() {
			m.ns.Close()
		}
		return nil, fmt.Errorf("vip: netlink socket: %w", err)
	}
	m.rt = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
	return m, nil
}

// inNS runs fn on a dedicated locked OS thread inside the Manager's
// namespace (or directly when no namespace was configured).
func (m *Manager) inNS(fn func() error) error {
	if !m.ns.IsOpen() {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(m.ns); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime discards it when this
			// goroutine exits, so no other goroutine runs in the wrong ns.
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func (m *Manager) fail(err error) error {
	if err != nil {
		m.st.errors.Add(1)
	}
	return err
}

func (m *Manager) link(name string) (netlink.Link, error) {
	l, err := m.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("vip: interface %s: %w", name, err)
	}
	return l, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// owned is a route or rule the Manager added: the caller's value and the
// netlink object it became.
type owned[U, T any] struct {
	v  U
	nl T
}

// addOwned adds v (a route or rule, the caller's u) with add and owns it
// under key, unless it is owned already, and reports whether it added it.
// One that already exists (EEXIST) is left alone and not owned. m.mu is
// held.
func addOwned[U, T any](m *Manager, own map[string]owned[U, T], key, desc string, u U, v T, add func(*T) error, added *atomic.Uint64) (bool, error) {
	if _, ok := own[key]; ok {
		return false, nil
	}
	if err := add(&v); err != nil {
		if errors.Is(err, unix.EEXIST) {
			m.log.Info("already present, not taking ownership", "what", desc)
			return false, nil
		}
		return false, m.fail(fmt.Errorf("vip: add %s: %w", desc, err))
	}
	own[key] = owned[U, T]{u, v}
	added.Add(1)
	return true, nil
}

// removeOwned deletes the route or rule owned under key, if any; one
// already gone (errno gone) is not an error. m.mu is held.
func removeOwned[U, T any](m *Manager, own map[string]owned[U, T], key string, del func(*T) error, gone unix.Errno, removed *atomic.Uint64) error {
	o, ok := own[key]
	if !ok {
		return nil
	}
	delete(own, key)
	if err := del(&o.nl); err != nil && !errors.Is(err, gone) {
		return m.fail(fmt.Errorf("vip: remove %s: %w", key, err))
	}
	removed.Add(1)
	return nil
}

// RemoveAll stops announcements and removes every rule, route, address and
// VMAC interface this Manager added, in that order. The Manager stays usable.
func (m *Manager) RemoveAll(ctx context.Context) error {
	m.mu.Lock()
	ifaces := make([]string, 0, len(m.annc))
	for k := range m.annc {
		ifaces = append(ifaces, k)
	}
	m.mu.Unlock()
	for _, i := range ifaces {
		m.StopAnnounce(i)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for k := range m.rules {
		errs = append(errs, m.removeRule(k))
	}
	for k := range m.routes {
		errs = append(errs, m.removeRoute(k))
	}
	for k := range m.addrs {
		errs = append(errs, m.removeAddr(k))
	}
	for k := range m.vmacs {
		errs = append(errs, m.deleteVMAC(k))
	}
	errs = append(errs, vipErr(m.filterUninstall()))
	return errors.Join(errs...)
}

// Close removes everything this Manager added (see RemoveAll) and releases
// its sockets and netlink handle. It is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	err := m.RemoveAll(context.Background())
	m.mu.Lock()
	m.closed = true
	close(m.done)
	err = errors.Join(err, vipErr(m.filterClose()))
	// Cancel announcements started after RemoveAll stopped the others.
	for k, a := range m.annc {
		a.cancel()
		delete(m.annc, k)
	}
	for _, c := range m.conns {
		c.Close()
	}
	m.conns = nil
	m.mu.Unlock()
	m.wg.Wait()
	m.h.Close()
	m.rt[unix.NETLINK_ROUTE].Socket.Close()
	if m.ns.IsOpen() {
		m.ns.Close()
	}
	return err
}

// Stats returns a snapshot of the Manager's counters.
func (m *Manager) Stats() Stats {
	return Stats{
		AddrsAdded:      m.st.addrsAdded.Load(),
		AddrsRemoved:    m.st.addrsRemoved.Load(),
		AddrsPreexisted: m.st.addrsPre.Load(),
		RoutesAdded:     m.st.routesAdded.Load(),
		RoutesRemoved:   m.st.routesRemoved.Load(),
		RulesAdded:      m.st.rulesAdded.Load(),
		RulesRemoved:    m.st.rulesRemoved.Load(),
		VMACsCreated:    m.st.vmacsCreated.Load(),
		VMACsDeleted:    m.st.vmacsDeleted.Load(),
		GARPsSent:       m.st.garps.Load(),
		NAsSent:         m.st.nas.Load(),
		Errors:          m.st.errors.Load(),
		WatchResyncs:    m.st.watchResyncs.Load(),
		WatchErrors:     m.st.watchErrors.Load(),
		Filtered:        m.st.filtered.Load(),
	}
}
