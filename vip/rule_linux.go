package vip

// This file owns the policy routing rules on Linux: AddRule, RemoveRule,
// the translation of Rule to a netlink rule marked with RouteProtocol, and
// how a dumped kernel rule is matched to an owned one.

import (
	"context"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

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
	nr.Mark = r.FWMark
	if r.FWMask != 0 {
		mask := r.FWMask
		nr.Mask = &mask
	}
	nr.IPProto = int(r.IPProto)
	if r.Sport != (PortRange{}) {
		nr.Sport = netlink.NewRulePortRange(r.Sport.Start, r.Sport.end())
	}
	if r.Dport != (PortRange{}) {
		nr.Dport = netlink.NewRulePortRange(r.Dport.Start, r.Dport.end())
	}
	if r.UIDRange != (UIDRange{}) {
		nr.UIDRange = netlink.NewRuleUIDRange(r.UIDRange.Start, r.UIDRange.End)
	}
	if r.Suppress {
		nr.SuppressPrefixlen = r.SuppressPrefixlen
	}
	nr.Invert = r.Not
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

// sameRule reports whether the kernel's rule k is our rule r.
func sameRule(r, k netlink.Rule) bool {
	if k.Protocol != RouteProtocol || r.Family != k.Family || r.Table != k.Table ||
		r.IifName != k.IifName || r.OifName != k.OifName || r.Mark != k.Mark || r.Invert != k.Invert {
		return false
	}
	if r.Priority >= 0 && r.Priority != k.Priority {
		return false
	}
	return ipNetString(r.Src, r.Family) == ipNetString(k.Src, k.Family) &&
		ipNetString(r.Dst, r.Family) == ipNetString(k.Dst, k.Family)
}
