package vip

// This file owns the virtual routes on Linux: AddRoute, RemoveRoute, the
// translation of Route to a netlink route marked with RouteProtocol, and
// how a dumped kernel route is matched to an owned one.

import (
	"context"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

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
	nr.Type = rtnType[r.Type]
	for _, h := range r.Nexthops.All() {
		nh := &netlink.NexthopInfo{Hops: h.weight() - 1}
		if h.Gateway.IsValid() {
			nh.Gw = net.IP(h.Gateway.AsSlice())
		}
		if h.Interface != "" {
			l, err := m.link(h.Interface)
			if err != nil {
				return nr, err
			}
			nh.LinkIndex = l.Attrs().Index
		}
		nr.MultiPath = append(nr.MultiPath, nh)
	}
	return nr, nil
}

// rtnType maps a RouteType to rtm_type.
var rtnType = [...]int{
	RouteUnicast:     unix.RTN_UNICAST,
	RouteBlackhole:   unix.RTN_BLACKHOLE,
	RouteUnreachable: unix.RTN_UNREACHABLE,
	RouteProhibit:    unix.RTN_PROHIBIT,
	RouteThrow:       unix.RTN_THROW,
}

// srcRouteReq adds (RTM_NEWROUTE) or deletes (RTM_DELROUTE) nr restricted
// to the source prefix src, which netlink.Handle cannot express (RTA_SRC).
// Equivalent to `ip route add|del $dst from $src ...`.
func (m *Manager) srcRouteReq(cmd int, nr *netlink.Route, src netip.Prefix) error {
	flags := unix.NLM_F_ACK
	msg := nl.NewRtDelMsg()
	if cmd == unix.RTM_NEWROUTE {
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
		msg = nl.NewRtMsg()
		msg.Scope = uint8(nr.Scope)
		msg.Type = uint8(nr.Type)
	}
	req := nl.NewNetlinkRequest(cmd, flags)
	msg.Family = uint8(nr.Family)
	msg.Protocol = uint8(nr.Protocol)
	ones, _ := nr.Dst.Mask.Size()
	msg.Dst_len = uint8(ones)
	msg.Src_len = uint8(src.Bits())
	if nr.Table < 256 {
		msg.Table = uint8(nr.Table)
	} else {
		msg.Table = unix.RT_TABLE_UNSPEC
	}
	req.AddData(msg)
	addr := func(ip net.IP) []byte {
		if nr.Family == netlink.FAMILY_V4 {
			return ip.To4()
		}
		return ip.To16()
	}
	req.AddData(nl.NewRtAttr(unix.RTA_DST, addr(nr.Dst.IP)))
	req.AddData(nl.NewRtAttr(unix.RTA_SRC, src.Masked().Addr().AsSlice()))
	if nr.Gw != nil {
		req.AddData(nl.NewRtAttr(unix.RTA_GATEWAY, addr(nr.Gw)))
	}
	if nr.Src != nil {
		req.AddData(nl.NewRtAttr(unix.RTA_PREFSRC, addr(nr.Src)))
	}
	if nr.LinkIndex != 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_OIF, nl.Uint32Attr(uint32(nr.LinkIndex))))
	}
	if nr.Priority != 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_PRIORITY, nl.Uint32Attr(uint32(nr.Priority))))
	}
	req.AddData(nl.NewRtAttr(unix.RTA_TABLE, nl.Uint32Attr(uint32(nr.Table))))
	req.Sockets = m.rt
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
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
	add := m.h.RouteAdd
	if r.SrcPrefix.IsValid() {
		add = func(nr *netlink.Route) error { return m.srcRouteReq(unix.RTM_NEWROUTE, nr, r.SrcPrefix) }
	}
	return addOwned(m, m.routes, r.key(), "route "+r.String(), r, nr, add, &m.st.routesAdded)
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
	del := m.h.RouteDel
	if src := m.routes[key].v.SrcPrefix; src.IsValid() {
		del = func(nr *netlink.Route) error { return m.srcRouteReq(unix.RTM_DELROUTE, nr, src) }
	}
	return removeOwned(m, m.routes, key, del, unix.ESRCH, &m.st.routesRemoved)
}

// sameRoute reports whether the kernel's route k is our route r, by the
// kernel's own identity of a route (family, table, destination, metric,
// tos). It errs on the side of "same": forgetting a route we own would
// leave it behind after Close.
func sameRoute(r, k netlink.Route) bool {
	if r.Protocol != k.Protocol || r.Family != k.Family || r.Table != k.Table || r.Tos != k.Tos {
		return false
	}
	prio := r.Priority
	if prio == 0 && r.Family == netlink.FAMILY_V6 {
		prio = 1024 // IP6_RT_PRIO_USER, the kernel's default IPv6 metric
	}
	return prio == k.Priority && ipNetString(r.Dst, r.Family) == ipNetString(k.Dst, k.Family)
}

func ipNetString(n *net.IPNet, fam int) string {
	if n == nil {
		if fam == netlink.FAMILY_V6 {
			return "::/0"
		}
		return "0.0.0.0/0"
	}
	return n.String()
}
