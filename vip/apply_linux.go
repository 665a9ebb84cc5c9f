package vip

// This file holds Manager.Apply on Linux: reading back what the Manager
// owns (pruning what someone else removed), planning with Plan and
// executing the operations.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
)

// Apply makes the addresses, routes and rules this Manager owns match
// desired: it first forgets owned objects that someone else removed (or
// replaced by an identical one that is not marked as ours, or whose
// interface was deleted), so that Apply puts them back, then plans with
// [Plan] and performs the operations, stopping at the first error.
//
// Ownership is as for Add: a desired object that is already present
// (added by someone else) is left alone, reported in Changes.Present and
// not owned, so no later Apply, Remove, RemoveAll or Close removes it.
// Changes lists the operations that succeeded, also on error. Applying the
// same set twice changes nothing the second time.
func (m *Manager) Apply(ctx context.Context, desired Set) (Changes, error) {
	if err := desired.Validate(); err != nil {
		return Changes{}, m.fail(err)
	}
	if err := ctx.Err(); err != nil {
		return Changes{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Changes{}, ErrClosed
	}
	if err := m.prune(); err != nil {
		return Changes{}, m.fail(err)
	}
	var ch Changes
	for _, op := range Plan(m.ownedSet(), desired) {
		if err := ctx.Err(); err != nil {
			return ch, err
		}
		changed, err := m.do(op)
		if err != nil {
			return ch, err
		}
		if changed {
			ch.Ops = append(ch.Ops, op)
		} else {
			ch.Present = append(ch.Present, op)
		}
	}
	return ch, nil
}

// do performs op and reports whether it changed the system. m.mu is held.
func (m *Manager) do(op Op) (bool, error) {
	switch op.Kind {
	case OpAddAddress:
		return m.addLocked(op.Address)
	case OpAddRoute:
		return m.addRouteLocked(op.Route)
	case OpAddRule:
		return m.addRuleLocked(op.Rule)
	case OpRemoveAddress:
		a := op.Address
		for k, o := range m.addrs {
			if o == a {
				return true, m.removeAddr(k)
			}
		}
		return true, nil
	case OpRemoveRoute:
		return true, m.removeRoute(op.Route.key())
	case OpRemoveRule:
		return true, m.removeRule(op.Rule.key())
	}
	return false, fmt.Errorf("vip: unknown operation %v", op.Kind)
}

// OwnedSet returns the addresses, routes and rules this Manager added and
// still owns (as far as it knows: Apply reads the kernel back first).
func (m *Manager) OwnedSet() Set {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ownedSet()
}

func (m *Manager) ownedSet() Set {
	var s Set
	for _, a := range m.addrs {
		s.Addresses = append(s.Addresses, a)
	}
	for _, o := range m.routes {
		s.Routes = append(s.Routes, o.v)
	}
	for _, o := range m.rules {
		s.Rules = append(s.Rules, o.v)
	}
	slices.SortFunc(s.Addresses, func(x, y Address) int { return strings.Compare(x.String(), y.String()) })
	slices.SortFunc(s.Routes, func(x, y Route) int { return strings.Compare(x.key(), y.key()) })
	slices.SortFunc(s.Rules, func(x, y Rule) int { return strings.Compare(x.key(), y.key()) })
	return s
}

// prune forgets the owned objects that are no longer in the kernel. m.mu
// is held.
func (m *Manager) prune() error {
	miss, err := m.ownedMissing()
	if err != nil {
		return err
	}
	for _, k := range miss.addrs {
		a := m.addrs[k]
		m.log.Info("owned address gone", "addr", a.Prefix.String(), "iface", a.Interface)
		if err := m.forgetAddr(k); err != nil {
			return err
		}
	}
	for _, k := range miss.routes {
		m.log.Info("owned route removed by someone else", "route", m.routes[k].v.String())
		delete(m.routes, k)
	}
	for _, k := range miss.rules {
		m.log.Info("owned rule removed by someone else", "rule", m.rules[k].v.String())
		delete(m.rules, k)
	}
	return nil
}

// missing lists the owned objects the kernel no longer has, by their key
// in m.addrs, m.routes and m.rules.
type missing struct {
	addrs         []addrKey
	routes, rules []string
}

// ownedMissing reads the kernel back and returns the owned objects it no
// longer has: an address whose interface was deleted (or recreated with a
// new index), that is gone, or that is replaced by a copy not marked as
// ours; a route or rule that is gone. An interrupted route or rule dump
// reports none of its kind missing. m.mu is held.
func (m *Manager) ownedMissing() (missing, error) {
	var miss missing
	if len(m.addrs) > 0 {
		present, err := m.addrDump(netlink.FAMILY_ALL)
		if err != nil {
			return miss, err
		}
		links, err := m.h.LinkList()
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return miss, fmt.Errorf("vip: list links: %w", err)
		}
		index := make(map[string]int, len(links))
		for _, l := range links {
			index[l.Attrs().Name] = l.Attrs().Index
		}
		for k, a := range m.addrs {
			idx, ok := index[a.Interface]
			if !ok && err != nil { // an interrupted dump may miss the link
				if l, lerr := m.h.LinkByName(a.Interface); lerr == nil {
					idx, ok = l.Attrs().Index, true
				}
			}
			proto, found := present[k]
			if !ok || idx != k.ifindex || !found || (!m.noProto && proto != AddrProtocol) {
				miss.addrs = append(miss.addrs, k)
			}
		}
	}
	if len(m.routes) > 0 {
		rs, err := m.h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: RouteProtocol},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return miss, fmt.Errorf("vip: list routes: %w", err)
		}
		if err == nil { // an interrupted dump may miss routes
			for k, o := range m.routes {
				if !slices.ContainsFunc(rs, func(r netlink.Route) bool { return sameRoute(o.nl, r) }) {
					miss.routes = append(miss.routes, k)
				}
			}
		}
	}
	if len(m.rules) > 0 {
		rs, err := m.h.RuleList(netlink.FAMILY_ALL)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return miss, fmt.Errorf("vip: list rules: %w", err)
		}
		if err == nil {
			for k, o := range m.rules {
				if !slices.ContainsFunc(rs, func(r netlink.Rule) bool { return sameRule(o.nl, r) }) {
					miss.rules = append(miss.rules, k)
				}
			}
		}
	}
	return miss, nil
}
