package vip

// This file owns the virtual routes on Linux: AddRoute, RemoveRoute, the
// translation of Route to a netlink route marked with RouteProtocol, and
// how a dumped kernel route is matched to an owned one.

import (
	"context"
	"net"

	"github.com/vishvananda/netlink"
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
