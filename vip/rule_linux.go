package vip

// This file owns the policy routing rules on Linux: AddRule, RemoveRule,
// the translation of Rule to a netlink rule marked with RouteProtocol, and
// how a dumped kernel rule is matched to an owned one.

import (
	"context"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
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
	add := m.h.RuleAdd
	if r.L3mdev {
		add = func(nr *netlink.Rule) error { return m.l3mdevRuleReq(unix.RTM_NEWRULE, nr) }
	}
	return addOwned(m, m.rules, r.key(), "rule "+r.String(), r, toNetlinkRule(r), add, &m.st.rulesAdded)
}

// l3mdevRuleReq adds (RTM_NEWRULE) or deletes (RTM_DELRULE) the l3mdev
// rule nr, which netlink.Handle cannot express (FRA_L3MDEV). Equivalent to
// `ip rule add|del [from F] [to T] [iif I] [oif O] [fwmark M/K] l3mdev
// [pref P] proto 18`.
func (m *Manager) l3mdevRuleReq(cmd int, nr *netlink.Rule) error {
	flags := unix.NLM_F_ACK
	if cmd == unix.RTM_NEWRULE {
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	req := nl.NewNetlinkRequest(cmd, flags)
	msg := nl.NewRtMsg() // struct fib_rule_hdr has the same layout
	msg.Family = uint8(nr.Family)
	msg.Protocol = 0 // res1
	msg.Scope = 0    // res2
	msg.Table = unix.RT_TABLE_UNSPEC
	msg.Type = nl.FR_ACT_TO_TBL
	if nr.Invert {
		msg.Flags |= netlink.FibRuleInvert
	}
	var attrs []*nl.RtAttr
	for _, x := range []struct {
		n   *net.IPNet
		typ int
		len *uint8
	}{{nr.Dst, nl.FRA_DST, &msg.Dst_len}, {nr.Src, nl.FRA_SRC, &msg.Src_len}} {
		if x.n == nil {
			continue
		}
		ones, _ := x.n.Mask.Size()
		*x.len = uint8(ones)
		ip := x.n.IP.To4()
		if nr.Family == netlink.FAMILY_V6 {
			ip = x.n.IP.To16()
		}
		attrs = append(attrs, nl.NewRtAttr(x.typ, ip))
	}
	req.AddData(msg)
	for _, a := range attrs {
		req.AddData(a)
	}
	if nr.Priority >= 0 {
		req.AddData(nl.NewRtAttr(nl.FRA_PRIORITY, nl.Uint32Attr(uint32(nr.Priority))))
	}
	if nr.Mark != 0 || nr.Mask != nil {
		req.AddData(nl.NewRtAttr(nl.FRA_FWMARK, nl.Uint32Attr(nr.Mark)))
	}
	if nr.Mask != nil {
		req.AddData(nl.NewRtAttr(nl.FRA_FWMASK, nl.Uint32Attr(*nr.Mask)))
	}
	if nr.IifName != "" {
		req.AddData(nl.NewRtAttr(nl.FRA_IIFNAME, nl.ZeroTerminated(nr.IifName)))
	}
	if nr.OifName != "" {
		req.AddData(nl.NewRtAttr(nl.FRA_OIFNAME, nl.ZeroTerminated(nr.OifName)))
	}
	req.AddData(nl.NewRtAttr(nl.FRA_L3MDEV, nl.Uint8Attr(1)))
	req.AddData(nl.NewRtAttr(nl.FRA_PROTOCOL, nl.Uint8Attr(nr.Protocol)))
	req.Sockets = m.rt
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
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
	del := m.h.RuleDel
	if m.rules[key].v.L3mdev {
		del = func(nr *netlink.Rule) error { return m.l3mdevRuleReq(unix.RTM_DELRULE, nr) }
	}
	return removeOwned(m, m.rules, key, del, unix.ENOENT, &m.st.rulesRemoved)
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
