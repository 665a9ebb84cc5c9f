package vip_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestIntegrationAddressOptions adds addresses with each flag and option
// and reads them back from the kernel over netlink.
func TestIntegrationAddressOptions(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	tests := []struct {
		addr  vip.Address
		check func(netlink.Addr) string // "" if fine
	}{
		{vip.Address{Prefix: netip.MustParsePrefix("198.51.100.150/24"), NoPrefixRoute: true}, flag(unix.IFA_F_NOPREFIXROUTE)},
		{vip.Address{Prefix: netip.MustParsePrefix("2001:db8::150/64"), HomeAddress: true}, flag(unix.IFA_F_HOMEADDRESS)},
		{vip.Address{Prefix: netip.MustParsePrefix("2001:db8:0:1::1/64"), ManageTempAddr: true}, flag(unix.IFA_F_MANAGETEMPADDR)},
		{vip.Address{Prefix: netip.MustParsePrefix("ff05::db8:0:1/128"), AutoJoin: true}, flag(unix.IFA_F_MCAUTOJOIN)},
		{vip.Address{Prefix: netip.MustParsePrefix("203.0.113.1/32"), Peer: netip.MustParsePrefix("203.0.113.2/32")}, func(x netlink.Addr) string {
			if x.Peer == nil || x.Peer.String() != "203.0.113.2/32" {
				return "peer " + x.Peer.String()
			}
			return ""
		}},
		{vip.Address{Prefix: netip.MustParsePrefix("192.0.2.160/24"), PreferredLft: vip.LifetimeZero}, func(x netlink.Addr) string {
			// IPv4 keeps only the flag (valid and preferred read forever).
			if x.Flags&unix.IFA_F_DEPRECATED == 0 || x.ValidLft != int(^uint32(0)) {
				return "not deprecated with a valid lifetime forever"
			}
			return ""
		}},
		{vip.Address{Prefix: netip.MustParsePrefix("2001:db8::161/64"), PreferredLft: 300 * time.Second}, func(x netlink.Addr) string {
			if x.PreferedLft <= 0 || x.PreferedLft > 300 || x.ValidLft != int(^uint32(0)) || x.Flags&unix.IFA_F_DEPRECATED != 0 {
				return "preferred lifetime not in (0, 300] s with a valid lifetime forever"
			}
			return ""
		}},
	}
	h := a.Handle(t)
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		tt.addr.Interface = "eth0"
		if err := m.Add(ctx, tt.addr); err != nil {
			t.Errorf("Add(%v): %v", tt.addr, err)
			continue
		}
		list, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range list {
			if x.IPNet.String() == tt.addr.Prefix.String() {
				found = true
				if msg := tt.check(x); msg != "" {
					t.Errorf("%v read back as %+v (flags %#x, preferred %d, valid %d): %s", tt.addr, x, x.Flags, x.PreferedLft, x.ValidLft, msg)
				}
			}
		}
		if !found {
			t.Errorf("%v not in the kernel", tt.addr)
		}
	}
	if out := a.Run(t, "ip", "route", "show", "198.51.100.0/24"); out != "" {
		t.Errorf("noprefixroute address got a prefix route: %s", out)
	}
	if out := a.Run(t, "ip", "maddr", "show", "dev", "eth0"); !strings.Contains(out, "ff05::db8:0:1") {
		t.Errorf("autojoin did not join the group:\n%s", out)
	}
	if err := m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	out := a.Run(t, "ip", "-o", "addr", "show", "dev", "eth0")
	for _, tt := range tests {
		if strings.Contains(out, tt.addr.Prefix.Addr().String()+"/") || strings.Contains(out, tt.addr.Prefix.Addr().String()+" ") {
			t.Errorf("%v left after RemoveAll:\n%s", tt.addr.Prefix, out)
		}
	}
}

func flag(f int) func(netlink.Addr) string {
	return func(x netlink.Addr) string {
		if x.Flags&f == 0 {
			return "flag missing"
		}
		return ""
	}
}

// TestIntegrationRouteOptions adds routes of each type, multipath and
// source-specific routes and reads them back over netlink.
func TestIntegrationRouteOptions(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	gw := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	routes := []vip.Route{
		{Dst: netip.MustParsePrefix("203.0.113.0/25"), Type: vip.RouteBlackhole},
		{Dst: netip.MustParsePrefix("203.0.113.128/26"), Type: vip.RouteUnreachable},
		{Dst: netip.MustParsePrefix("203.0.113.192/27"), Type: vip.RouteProhibit},
		{Dst: netip.MustParsePrefix("203.0.113.224/27"), Type: vip.RouteThrow, Table: 100},
		{Dst: netip.MustParsePrefix("198.51.100.0/24"), Nexthops: vip.NewNexthops(
			vip.Nexthop{Gateway: gw("192.0.2.2")}, vip.Nexthop{Gateway: gw("192.0.2.3"), Interface: "eth0", Weight: 3})},
		{Dst: netip.MustParsePrefix("2001:db8:5::/48"), Nexthops: vip.NewNexthops(
			vip.Nexthop{Gateway: gw("2001:db8::2"), Interface: "eth0"}, vip.Nexthop{Gateway: gw("2001:db8::3"), Interface: "eth0"})},
		{Dst: netip.MustParsePrefix("2001:db8:6::/48"), SrcPrefix: netip.MustParsePrefix("2001:db8:7::/48"), Gateway: gw("2001:db8::2"), Interface: "eth0"},
	}
	if _, err := m.Apply(ctx, vip.Set{Routes: routes}); err != nil {
		t.Fatal(err)
	}
	h := a.Handle(t)
	got, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: vip.RouteProtocol},
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Fatal(err)
	}
	byDst := map[string]netlink.Route{}
	for _, r := range got {
		byDst[r.Dst.String()] = r
	}
	for dst, typ := range map[string]int{"203.0.113.0/25": unix.RTN_BLACKHOLE, "203.0.113.128/26": unix.RTN_UNREACHABLE,
		"203.0.113.192/27": unix.RTN_PROHIBIT, "203.0.113.224/27": unix.RTN_THROW} {
		if r, ok := byDst[dst]; !ok || r.Type != typ {
			t.Errorf("route %s: type %d (present %v), want %d", dst, r.Type, ok, typ)
		}
	}
	if r := byDst["203.0.113.224/27"]; r.Table != 100 {
		t.Errorf("throw route in table %d, want 100", r.Table)
	}
	mp := byDst["198.51.100.0/24"].MultiPath
	if len(mp) != 2 || !mp[0].Gw.Equal(net.ParseIP("192.0.2.2")) || mp[0].Hops != 0 || !mp[1].Gw.Equal(net.ParseIP("192.0.2.3")) || mp[1].Hops != 2 {
		t.Errorf("IPv4 multipath read back as %v", mp)
	}
	if mp := byDst["2001:db8:5::/48"].MultiPath; len(mp) != 2 {
		t.Errorf("IPv6 multipath read back as %v", mp)
	}
	// netlink.Route has no source prefix: ip(8) reads RTA_SRC back.
	if out := a.Run(t, "ip", "-6", "route", "show", "2001:db8:6::/48", "from", "2001:db8:7::/48"); !strings.Contains(out, "proto keepalived") {
		t.Errorf("source-specific route not found: %q", out)
	}
	// Idempotent, then gone.
	if ch, err := m.Apply(ctx, vip.Set{Routes: routes}); err != nil || len(ch.Ops)+len(ch.Present) != 0 {
		t.Errorf("second Apply = %v, %v; want no operations", ch, err)
	}
	if err := m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "route", "show", "table", "all", "proto", "keepalived") + a.Run(t, "ip", "-6", "route", "show", "table", "all", "proto", "keepalived"); out != "" {
		t.Errorf("routes left after RemoveAll:\n%s", out)
	}
}

// TestIntegrationRuleOptions adds rules with each selector and reads them
// back over netlink.
func TestIntegrationRuleOptions(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	rules := []vip.Rule{
		{Table: 100, Priority: 2000, FWMark: 0x10, FWMask: 0xff},
		{Table: 100, Priority: 2001, IPProto: unix.IPPROTO_TCP, Sport: vip.PortRange{Start: 1000}, Dport: vip.PortRange{Start: 80, End: 90}},
		{Table: 100, Priority: 2002, UIDRange: vip.UIDRange{Start: 1000, End: 2000}},
		{Table: unix.RT_TABLE_MAIN, Priority: 2003, Suppress: true, SuppressPrefixlen: 0},
		{Table: 100, Priority: 2004, From: netip.MustParsePrefix("192.0.2.0/24"), Not: true},
		{Table: 100, Priority: 2005, IPv6: true, FWMark: 0x20},
		{Priority: 2006, L3mdev: true, IifName: "eth0"},
	}
	if _, err := m.Apply(ctx, vip.Set{Rules: rules}); err != nil {
		t.Fatal(err)
	}
	got, err := a.Handle(t).RuleList(netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	byPrio := map[int]netlink.Rule{}
	for _, r := range got {
		if r.Protocol == vip.RouteProtocol {
			byPrio[r.Priority] = r
		}
	}
	if len(byPrio) != len(rules) {
		t.Fatalf("read back %d rules of ours, want %d: %v", len(byPrio), len(rules), got)
	}
	checks := []struct {
		prio int
		ok   func(netlink.Rule) bool
	}{
		{2000, func(r netlink.Rule) bool { return r.Mark == 0x10 && r.Mask != nil && *r.Mask == 0xff }},
		{2001, func(r netlink.Rule) bool {
			return r.IPProto == unix.IPPROTO_TCP && r.Sport != nil && *r.Sport == netlink.RulePortRange{Start: 1000, End: 1000} &&
				r.Dport != nil && *r.Dport == netlink.RulePortRange{Start: 80, End: 90}
		}},
		{2002, func(r netlink.Rule) bool {
			return r.UIDRange != nil && *r.UIDRange == netlink.RuleUIDRange{Start: 1000, End: 2000}
		}},
		{2003, func(r netlink.Rule) bool { return r.SuppressPrefixlen == 0 && r.Table == unix.RT_TABLE_MAIN }},
		{2004, func(r netlink.Rule) bool { return r.Invert && r.Src != nil && r.Src.String() == "192.0.2.0/24" }},
		{2005, func(r netlink.Rule) bool { return r.Family == netlink.FAMILY_V6 && r.Mark == 0x20 }},
		{2006, func(r netlink.Rule) bool { return r.IifName == "eth0" && r.Table == 0 }},
	}
	for _, c := range checks {
		if r := byPrio[c.prio]; !c.ok(r) {
			t.Errorf("rule %d read back as %+v", c.prio, r)
		}
	}
	// netlink.Rule has no l3mdev: ip(8) reads FRA_L3MDEV back.
	if out := a.Run(t, "ip", "rule", "show", "pref", "2006"); !strings.Contains(out, "iif eth0 lookup [l3mdev-table] proto keepalived") {
		t.Errorf("l3mdev rule read back as %q", out)
	}
	if ch, err := m.Apply(ctx, vip.Set{Rules: rules}); err != nil || len(ch.Ops)+len(ch.Present) != 0 {
		t.Errorf("second Apply = %v, %v; want no operations", ch, err)
	}
	if err := m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "rule", "show") + a.Run(t, "ip", "-6", "rule", "show"); strings.Contains(out, "keepalived") {
		t.Errorf("rules left after RemoveAll:\n%s", out)
	}
}
