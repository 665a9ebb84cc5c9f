package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	addrs   map[addrKey]Address
	routes  map[string]owned[Route, netlink.Route]
	rules   map[string]owned[Rule, netlink.Rule]
	vmacs   map[string]VMAC
	parents map[string]map[string]string // parent -> sysctl -> old value
	conns   map[int]*packet.Conn
	annc    map[string]*announcer

	wg sync.WaitGroup

	st struct {
		addrsAdded, addrsRemoved, addrsPre atomic.Uint64
		routesAdded, routesRemoved         atomic.Uint64
		rulesAdded, rulesRemoved           atomic.Uint64
		vmacsCreated, vmacsDeleted         atomic.Uint64
		garps, nas, errors                 atomic.Uint64
	}
}

type addrKey struct {
	ifindex int
	prefix  netip.Prefix
}

type announcer struct {
	cancel context.CancelFunc
	done   chan struct{}
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

// Add adds a to its interface, unless the same address (value and prefix
// length) is already there, in which case it is left alone and not owned:
// RemoveAll will not remove it. Equivalent to
// `ip addr add $prefix dev $iface [label L] [broadcast B] [scope S] [nodad]`.
func (m *Manager) Add(ctx context.Context, a Address) error {
	if err := a.validate(); err != nil {
		return m.fail(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	a.Prefix = netip.PrefixFrom(a.Prefix.Addr().Unmap(), a.Prefix.Bits())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	_, err := m.addLocked(a)
	return err
}

// addLocked adds a (validated, canonical) and reports whether it did so;
// false with a nil error means it is owned already or present and not
// ours. m.mu is held.
func (m *Manager) addLocked(a Address) (bool, error) {
	l, err := m.link(a.Interface)
	if err != nil {
		return false, m.fail(err)
	}
	key := addrKey{l.Attrs().Index, a.Prefix}
	if _, ok := m.addrs[key]; ok {
		return false, nil
	}
	_, present, err := m.addrProto(key)
	if err != nil {
		return false, m.fail(err)
	}
	if present {
		m.st.addrsPre.Add(1)
		m.log.Info("address already present, not taking ownership", "addr", a.Prefix.String(), "iface", a.Interface)
		return false, nil
	}
	if err := m.addAddr(key.ifindex, a); err != nil {
		if errors.Is(err, unix.EEXIST) {
			m.st.addrsPre.Add(1)
			return false, nil
		}
		return false, m.fail(fmt.Errorf("vip: add %s: %w", a, err))
	}
	if proto, _, err := m.addrProto(key); err == nil && proto != AddrProtocol {
		m.noProto = true
	}
	m.addrs[key] = a
	m.st.addrsAdded.Add(1)
	m.log.Info("address added", "addr", a.Prefix.String(), "iface", a.Interface)
	return true, nil
}

// AddrProtocol is the address protocol (IFA_PROTO, Linux 6.3+) with which
// the Manager marks the addresses it adds (`ip addr show proto 18`).
const AddrProtocol = RouteProtocol

// ifaProto is the IFA_PROTO attribute type (include/uapi/linux/if_addr.h).
const ifaProto = 11

// addAddr adds a with IFA_PROTO = AddrProtocol (netlink.Handle cannot set
// IFA_PROTO). Equivalent to `ip addr add ... proto 18`.
func (m *Manager) addAddr(ifindex int, a Address) error {
	ip := a.Prefix.Addr()
	fam := family(ip)
	req := nl.NewNetlinkRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	msg := nl.NewIfAddrmsg(fam)
	msg.Index = uint32(ifindex)
	msg.Prefixlen = uint8(a.Prefix.Bits())
	msg.Scope = a.Scope
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, ip.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip.AsSlice()))
	var flags uint32
	if ip.Is4() {
		brd := a.Broadcast
		if !brd.IsValid() && a.Prefix.Bits() < 31 {
			b4 := ip.As4()
			mask := ^uint32(0) >> a.Prefix.Bits()
			v := uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3]) | mask
			brd = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		}
		if brd.IsValid() {
			req.AddData(nl.NewRtAttr(unix.IFA_BROADCAST, brd.AsSlice()))
		}
		if a.Label != "" {
			req.AddData(nl.NewRtAttr(unix.IFA_LABEL, nl.ZeroTerminated(a.Label)))
		}
	} else if !a.DAD {
		flags |= unix.IFA_F_NODAD
	}
	if flags != 0 {
		req.AddData(nl.NewRtAttr(unix.IFA_FLAGS, nl.Uint32Attr(flags)))
	}
	req.AddData(nl.NewRtAttr(ifaProto, nl.Uint8Attr(AddrProtocol)))
	req.Sockets = m.rt
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// addrProto looks key up on its interface and returns its IFA_PROTO.
func (m *Manager) addrProto(key addrKey) (proto uint8, found bool, err error) {
	present, err := m.addrDump(family(key.prefix.Addr()))
	if err != nil {
		return 0, false, err
	}
	proto, found = present[key]
	return proto, found, nil
}

// Remove removes a if this Manager added it; otherwise it does nothing.
// An address already gone is not an error.
func (m *Manager) Remove(ctx context.Context, a Address) error {
	if err := a.validate(); err != nil {
		return m.fail(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	a.Prefix = netip.PrefixFrom(a.Prefix.Addr().Unmap(), a.Prefix.Bits())
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.link(a.Interface)
	if err != nil {
		return m.fail(err)
	}
	return m.removeAddr(addrKey{l.Attrs().Index, a.Prefix})
}

func (m *Manager) removeAddr(key addrKey) error {
	a, ok := m.addrs[key]
	if !ok {
		return nil
	}
	delete(m.addrs, key)
	if !m.noProto {
		// If the address now on the interface is not marked as ours, an
		// operator removed ours and added the same address: leave it.
		proto, found, err := m.addrProto(key)
		if err == nil && (!found || proto != AddrProtocol) {
			if found {
				m.log.Info("address replaced by someone else, not removing", "addr", a.Prefix.String(), "iface", a.Interface)
			}
			return nil
		}
	}
	na := &netlink.Addr{IPNet: ipNet(a.Prefix), LinkIndex: key.ifindex}
	if err := m.h.AddrDel(nil, na); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		return m.fail(fmt.Errorf("vip: remove %s: %w", a, err))
	}
	m.st.addrsRemoved.Add(1)
	m.log.Info("address removed", "addr", a.Prefix.String(), "iface", a.Interface)
	return nil
}

// Owned returns the addresses this Manager added and still owns.
func (m *Manager) Owned() []Address {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Address, 0, len(m.addrs))
	for _, a := range m.addrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Address) int { return strings.Compare(x.String(), y.String()) })
	return out
}

func (m *Manager) toNetlinkRoute(r Route) (netlink.Route, error) {
	if err := r.validate(); err != nil {
		return netlink.Route{}, err
	}
	nr := netlink.Route{
		Dst:      ipNet(r.Dst.Masked()),
		Protocol: RouteProtocol,
		Table:    r.Table,
		Priority: r.Metric,
		Scope:    netlink.Scope(r.Scope),
		Family:   family(r.Dst.Addr()),
	}
	if nr.Table == 0 {
		nr.Table = unix.RT_TABLE_MAIN
	}
	if r.Gateway.IsValid() {
		nr.Gw = net.IP(r.Gateway.AsSlice())
	}
	if r.Src.IsValid() {
		nr.Src = net.IP(r.Src.AsSlice())
	}
	if r.Interface != "" {
		l, err := m.link(r.Interface)
		if err != nil {
			return nr, err
		}
		nr.LinkIndex = l.Attrs().Index
	}
	return nr, nil
}

// AddRoute adds a virtual route marked with RouteProtocol. A route with the
// same destination, table and metric that already exists is left alone and
// not owned.
func (m *Manager) AddRoute(ctx context.Context, r Route) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	_, err := m.addRouteLocked(r)
	return err
}

// addRouteLocked adds r and reports whether it did. m.mu is held.
func (m *Manager) addRouteLocked(r Route) (bool, error) {
	nr, err := m.toNetlinkRoute(r)
	if err != nil {
		return false, m.fail(err)
	}
	return addOwned(m, m.routes, r.key(), "route "+r.String(), r, nr, m.h.RouteAdd, &m.st.routesAdded)
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

// RemoveRoute removes a route this Manager added.
func (m *Manager) RemoveRoute(ctx context.Context, r Route) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeRoute(r.key())
}

func (m *Manager) removeRoute(key string) error {
	return removeOwned(m, m.routes, key, m.h.RouteDel, unix.ESRCH, &m.st.routesRemoved)
}

// AddRule adds a policy routing rule marked with RouteProtocol.
func (m *Manager) AddRule(ctx context.Context, r Rule) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return m.fail(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	_, err := m.addRuleLocked(r)
	return err
}

func toNetlinkRule(r Rule) netlink.Rule {
	nr := netlink.NewRule()
	nr.Table = r.Table
	nr.Priority = r.Priority
	if r.Priority == 0 {
		nr.Priority = -1
	}
	nr.Protocol = RouteProtocol
	nr.Family = netlink.FAMILY_V4
	if r.IPv6 || (r.From.IsValid() && r.From.Addr().Is6()) || (r.To.IsValid() && r.To.Addr().Is6()) {
		nr.Family = netlink.FAMILY_V6
	}
	if r.From.IsValid() {
		nr.Src = ipNet(r.From.Masked())
	}
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To.Masked())
	}
	nr.IifName, nr.OifName = r.IifName, r.OifName
	return *nr
}

// addRuleLocked adds r and reports whether it did. m.mu is held.
func (m *Manager) addRuleLocked(r Rule) (bool, error) {
	return addOwned(m, m.rules, r.key(), "rule "+r.String(), r, toNetlinkRule(r), m.h.RuleAdd, &m.st.rulesAdded)
}

// RemoveRule removes a rule this Manager added.
func (m *Manager) RemoveRule(ctx context.Context, r Rule) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeRule(r.key())
}

func (m *Manager) removeRule(key string) error {
	return removeOwned(m, m.rules, key, m.h.RuleDel, unix.ENOENT, &m.st.rulesRemoved)
}

// CreateVMAC creates the macvlan interface v (private mode, virtual router
// MAC), sets the ARP sysctls keepalived sets (IPv4 only: arp_ignore=1 and
// rp_filter=0 on the VMAC; arp_ignore=1 and arp_filter=1 on the parent, so
// only the VMAC answers ARP for the virtual addresses) and brings it up.
// DeleteVMAC or RemoveAll remove it and restore the parent's sysctls.
func (m *Manager) CreateVMAC(ctx context.Context, v VMAC) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if v.Name == "" || v.Parent == "" || v.VRID == 0 {
		return m.fail(fmt.Errorf("vip: vmac %q: name, parent and vrid required", v.Name))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.vmacs[v.Name]; ok {
		return nil
	}
	parent, err := m.link(v.Parent)
	if err != nil {
		return m.fail(err)
	}
	mac := v.HardwareAddr()
	la := netlink.NewLinkAttrs()
	la.Name = v.Name
	la.ParentIndex = parent.Attrs().Index
	la.HardwareAddr = net.HardwareAddr(mac[:])
	mv := &netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := m.h.LinkAdd(mv); err != nil {
		return m.fail(fmt.Errorf("vip: create vmac %s on %s: %w", v.Name, v.Parent, err))
	}
	m.vmacs[v.Name] = v
	m.st.vmacsCreated.Add(1)
	if !v.IPv6 {
		if err := m.setSysctls(v); err != nil {
			return m.fail(err)
		}
	}
	if err := m.h.LinkSetUp(mv); err != nil {
		return m.fail(fmt.Errorf("vip: vmac %s up: %w", v.Name, err))
	}
	m.log.Info("vmac created", "iface", v.Name, "parent", v.Parent, "vrid", v.VRID)
	return nil
}

func confPath(iface, key string) string {
	return "/proc/sys/net/ipv4/conf/" + iface + "/" + key
}

func (m *Manager) setSysctls(v VMAC) error {
	return m.inNS(func() error {
		var errs []error
		for k, val := range map[string]string{"arp_ignore": "1", "rp_filter": "0"} {
			if err := os.WriteFile(confPath(v.Name, k), []byte(val), 0); err != nil {
				errs = append(errs, fmt.Errorf("vip: sysctl %s: %w", k, err))
			}
		}
		if _, ok := m.parents[v.Parent]; !ok {
			saved := map[string]string{}
			for _, k := range []string{"arp_ignore", "arp_filter"} {
				old, err := os.ReadFile(confPath(v.Parent, k))
				if err != nil {
					errs = append(errs, fmt.Errorf("vip: sysctl %s: %w", k, err))
					continue
				}
				saved[k] = strings.TrimSpace(string(old))
				if err := os.WriteFile(confPath(v.Parent, k), []byte("1"), 0); err != nil {
					errs = append(errs, fmt.Errorf("vip: sysctl %s: %w", k, err))
				}
			}
			m.parents[v.Parent] = saved
		}
		return errors.Join(errs...)
	})
}

// DeleteVMAC deletes a VMAC interface this Manager created.
func (m *Manager) DeleteVMAC(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteVMAC(name)
}

func (m *Manager) deleteVMAC(name string) error {
	v, ok := m.vmacs[name]
	if !ok {
		return nil
	}
	delete(m.vmacs, name)
	// Addresses on it vanish with it.
	for k, a := range m.addrs {
		if a.Interface == name {
			delete(m.addrs, k)
		}
	}
	var errs []error
	if l, err := m.h.LinkByName(name); err == nil {
		// Its announcement socket dies with it: close it rather than keep
		// it until Close (a VMAC made again gets a new index).
		if c, ok := m.conns[l.Attrs().Index]; ok {
			c.Close()
			delete(m.conns, l.Attrs().Index)
		}
		if err := m.h.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("vip: delete vmac %s: %w", name, err))
		}
	}
	m.st.vmacsDeleted.Add(1)
	// Restore the parent's sysctls once no VMAC of ours uses it.
	inUse := false
	for _, o := range m.vmacs {
		inUse = inUse || o.Parent == v.Parent
	}
	if saved, ok := m.parents[v.Parent]; ok && !inUse {
		delete(m.parents, v.Parent)
		errs = append(errs, m.inNS(func() error {
			var e []error
			for k, val := range saved {
				if err := os.WriteFile(confPath(v.Parent, k), []byte(val), 0); err != nil {
					e = append(e, fmt.Errorf("vip: restore sysctl %s: %w", k, err))
				}
			}
			return errors.Join(e...)
		}))
	}
	return m.fail(errors.Join(errs...))
}

// conn returns the AF_PACKET socket for l, opening it in the namespace.
func (m *Manager) conn(l netlink.Link) (*packet.Conn, error) {
	idx := l.Attrs().Index
	if c, ok := m.conns[idx]; ok {
		return c, nil
	}
	ifi := &net.Interface{Index: idx, Name: l.Attrs().Name, HardwareAddr: l.Attrs().HardwareAddr, MTU: l.Attrs().MTU}
	var c *packet.Conn
	err := m.inNS(func() error {
		var err error
		// Protocol 0: a send-only socket that receives nothing.
		c, err = packet.Listen(ifi, packet.Raw, 0, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vip: packet socket on %s: %w", ifi.Name, err)
	}
	m.conns[idx] = c
	return c, nil
}

func (m *Manager) ipv6Forwarding(iface string) bool {
	var on bool
	_ = m.inNS(func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + iface + "/forwarding")
		if err == nil {
			v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			on = v != 0
		}
		return nil
	})
	return on
}

// send sends repeat rounds of announcements for addrs on iface: for each
// IPv4 address a gratuitous ARP request and reply, for each IPv6 address an
// unsolicited NA, with interval between rounds.
func (m *Manager) send(ctx context.Context, iface string, addrs []netip.Addr, repeat int, interval time.Duration) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	l, err := m.link(iface)
	if err != nil {
		m.mu.Unlock()
		return m.fail(err)
	}
	c, err := m.conn(l)
	m.mu.Unlock()
	if err != nil {
		return m.fail(err)
	}
	var mac [6]byte
	copy(mac[:], l.Attrs().HardwareAddr)
	router := false
	for _, a := range addrs {
		if a.Is6() && !a.Is4In6() {
			router = m.ipv6Forwarding(iface)
			break
		}
	}
	buf := make([]byte, 0, 128)
	for i := range repeat {
		if i > 0 && interval > 0 {
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		for _, a := range addrs {
			if err := ctx.Err(); err != nil {
				return err
			}
			a = a.Unmap()
			if a.Is4() {
				for _, op := range []uint16{arpOpRequest, arpOpReply} {
					buf = appendGARP(buf[:0], mac, a, op)
					if _, err := c.WriteTo(buf, &packet.Addr{HardwareAddr: net.HardwareAddr(ethBroadcast[:])}); err != nil {
						return m.fail(fmt.Errorf("vip: send gratuitous arp for %s on %s: %w", a, iface, err))
					}
					m.st.garps.Add(1)
				}
			} else {
				buf = appendUnsolicitedNA(buf[:0], mac, a, a, router)
				if _, err := c.WriteTo(buf, &packet.Addr{HardwareAddr: net.HardwareAddr(ethAllNodes[:])}); err != nil {
					return m.fail(fmt.Errorf("vip: send neighbour advertisement for %s on %s: %w", a, iface, err))
				}
				m.st.nas.Add(1)
			}
		}
	}
	return nil
}

// AnnounceOnce sends repeat rounds of announcements (GARP request + reply per
// IPv4 address, unsolicited NA per IPv6 address) on iface, spaced by the
// policy's Interval, and returns when done. Use it for keepalived's
// garp_lower_prio_repeat.
func (m *Manager) AnnounceOnce(ctx context.Context, iface string, addrs []netip.Addr, repeat int) error {
	return m.send(ctx, iface, addrs, repeat, m.cfg.Announce.Interval)
}

// Announce applies the announcement policy for addrs on iface after becoming
// master: it sends the first burst before returning, then, in the
// background, the second burst after SecondBurstDelay and the periodic
// refresh, until StopAnnounce(iface), a new Announce on iface, or Close.
func (m *Manager) Announce(ctx context.Context, iface string, addrs []netip.Addr) error {
	m.StopAnnounce(iface)
	p := m.cfg.Announce
	if err := m.send(ctx, iface, addrs, p.repeat(), p.Interval); err != nil {
		return err
	}
	if p.secondDelay() < 0 && p.Refresh <= 0 {
		return nil
	}
	addrs = slices.Clone(addrs)
	bctx, cancel := context.WithCancel(context.Background())
	a := &announcer{cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		cancel()
		return ErrClosed
	}
	// A concurrent Announce on iface may have registered since our
	// StopAnnounce: replace it, or its goroutine would run unstopped.
	old := m.annc[iface]
	m.annc[iface] = a
	m.wg.Add(1)
	m.mu.Unlock()
	if old != nil {
		old.cancel()
		<-old.done
	}
	go func() {
		defer m.wg.Done()
		defer close(a.done)
		wait := func(d time.Duration) bool {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-bctx.Done():
				return false
			case <-t.C:
				return true
			}
		}
		if d := p.secondDelay(); d > 0 {
			if !wait(d) {
				return
			}
			if err := m.send(bctx, iface, addrs, p.repeat(), p.Interval); err != nil && bctx.Err() == nil {
				m.log.Warn("second announcement burst", "iface", iface, "err", err)
			}
		}
		for p.Refresh > 0 && wait(p.Refresh) {
			if err := m.send(bctx, iface, addrs, p.refreshRepeat(), p.Interval); err != nil && bctx.Err() == nil {
				m.log.Warn("announcement refresh", "iface", iface, "err", err)
			}
		}
	}()
	return nil
}

// StopAnnounce cancels pending announcements on iface and waits for them.
func (m *Manager) StopAnnounce(iface string) {
	m.mu.Lock()
	a := m.annc[iface]
	delete(m.annc, iface)
	m.mu.Unlock()
	if a != nil {
		a.cancel()
		<-a.done
	}
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
	}
}
