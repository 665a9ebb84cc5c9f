package vip

// This file owns the virtual addresses on Linux: Add, Remove, Owned, and
// the IFA_PROTO-marked RTM_NEWADDR requests and address dumps that tell
// our addresses from an operator's.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

type addrKey struct {
	ifindex int
	prefix  netip.Prefix
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
	if a.NoAccept {
		// Filtered before it exists, so it never accepts traffic.
		if err := m.filterAdd(a.Prefix.Addr()); err != nil {
			return false, m.fail(fmt.Errorf("vip: add %s: %w", a, err))
		}
	}
	if err := m.addAddr(key.ifindex, a); err != nil {
		if uerr := m.unfilter(a); uerr != nil {
			m.log.Warn("unfilter after a failed add", "addr", a.Prefix.String(), "err", uerr)
		}
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
	if a.Peer.IsValid() {
		req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, a.Peer.Addr().Unmap().AsSlice()))
	} else {
		req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip.AsSlice()))
	}
	var flags uint32
	for _, f := range []struct {
		on   bool
		flag uint32
	}{
		{a.NoPrefixRoute, unix.IFA_F_NOPREFIXROUTE},
		{a.HomeAddress, unix.IFA_F_HOMEADDRESS},
		{a.ManageTempAddr, unix.IFA_F_MANAGETEMPADDR},
		{a.AutoJoin, unix.IFA_F_MCAUTOJOIN},
	} {
		if f.on {
			flags |= f.flag
		}
	}
	if a.PreferredLft != 0 {
		ci := &nl.IfaCacheInfo{}
		ci.Valid = ^uint32(0) // forever
		if a.PreferredLft > 0 {
			ci.Prefered = uint32(a.PreferredLft / time.Second)
		}
		req.AddData(nl.NewRtAttr(unix.IFA_CACHEINFO, ci.Serialize()))
	}
	if ip.Is4() {
		brd := a.Broadcast
		if !brd.IsValid() && !a.Peer.IsValid() && a.Prefix.Bits() < 31 {
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
	// By name, not index: the interface may be gone (or recreated) since.
	for k, o := range m.addrs {
		if o.Interface == a.Interface && k.prefix == a.Prefix {
			return m.removeAddr(k)
		}
	}
	return nil
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
			return m.unfilter(a)
		}
	}
	na := &netlink.Addr{IPNet: ipNet(a.Prefix), LinkIndex: key.ifindex}
	if a.Peer.IsValid() {
		na.Peer = ipNet(netip.PrefixFrom(a.Peer.Addr().Unmap(), a.Peer.Bits()))
	}
	if err := m.h.AddrDel(nil, na); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		// Still there: it stays filtered until RemoveAll or Close.
		return m.fail(fmt.Errorf("vip: remove %s: %w", a, err))
	}
	m.st.addrsRemoved.Add(1)
	m.log.Info("address removed", "addr", a.Prefix.String(), "iface", a.Interface)
	return m.unfilter(a)
}

// forgetAddr drops the owned address under key that the kernel no longer
// has (its interface was deleted, someone removed it). m.mu is held.
func (m *Manager) forgetAddr(key addrKey) error {
	a, ok := m.addrs[key]
	if !ok {
		return nil
	}
	delete(m.addrs, key)
	return m.unfilter(a)
}

// unfilter takes a, which is no longer owned, out of the NoAccept filter.
// m.mu is held.
func (m *Manager) unfilter(a Address) error {
	if !a.NoAccept {
		return nil
	}
	if err := m.filterDel(a.Prefix.Addr()); err != nil {
		return m.fail(fmt.Errorf("vip: unfilter %s: %w", a, err))
	}
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

// addrDump returns every address of family fam in the namespace with its
// IFA_PROTO.
func (m *Manager) addrDump(fam int) (map[addrKey]uint8, error) {
	var err error
	for range 3 { // a dump can be interrupted by concurrent changes
		req := nl.NewNetlinkRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfAddrmsg(fam))
		req.Sockets = m.rt
		var msgs [][]byte
		msgs, err = req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWADDR)
		if errors.Is(err, nl.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("vip: list addresses: %w", err)
		}
		out := make(map[addrKey]uint8, len(msgs))
		for _, b := range msgs {
			if len(b) < unix.SizeofIfAddrmsg {
				continue
			}
			ifa := nl.DeserializeIfAddrmsg(b)
			attrs, err := nl.ParseRouteAttr(b[unix.SizeofIfAddrmsg:])
			if err != nil {
				continue
			}
			var local, addr netip.Addr
			var p uint8
			for _, at := range attrs {
				switch at.Attr.Type {
				case unix.IFA_LOCAL:
					local, _ = netip.AddrFromSlice(at.Value)
				case unix.IFA_ADDRESS:
					addr, _ = netip.AddrFromSlice(at.Value)
				case ifaProto:
					if len(at.Value) > 0 {
						p = at.Value[0]
					}
				}
			}
			if !local.IsValid() {
				local = addr
			}
			if !local.IsValid() {
				continue
			}
			out[addrKey{int(ifa.Index), netip.PrefixFrom(local.Unmap(), int(ifa.Prefixlen))}] = p
		}
		return out, nil
	}
	return nil, fmt.Errorf("vip: list addresses: %w", err)
}
