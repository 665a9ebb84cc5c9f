package main

// This file owns the pure translation of a parsed vrrp_instance (and the
// static blocks) into the configurations of the suite's packages:
// vrrp.Config, the vip addresses, routes and rules, the announcement
// policy and the shared socket's key; and the list of problems the daemon
// would skip, for -t. Nothing here touches the system.

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

// connKey identifies a shared VRRP socket: one per interface, family and
// source address.
type connKey struct {
	Iface string
	IPv6  bool
	Src   netip.Addr // zero: the interface's primary address
}

// instanceConnKey returns the socket an instance uses: on its VMAC
// interface for IPv4 use_vmac (unless vmac_xmit_base), else on its
// interface.
func instanceConnKey(in *config.Instance) connKey {
	k := connKey{Iface: in.Interface, IPv6: in.IPv6(), Src: in.SrcIP}
	if in.UseVMAC && !in.VMACXmitBase && !k.IPv6 {
		k.Iface = vmacName(in)
	}
	return k
}

// vmacName is the name of an instance's VMAC interface (use_vmac [name]),
// keepalived's default being vrrp.VRID.
func vmacName(in *config.Instance) string {
	if in.VMACName != "" {
		return in.VMACName
	}
	return fmt.Sprintf("vrrp.%d", in.VRID)
}

// vrrpConfig builds the vrrp.Config of instance in (source left to the
// caller: it is the shared socket's source address). It also returns the
// tracked objects whose state the daemon feeds with SetTracked, by name.
func vrrpConfig(c *config.Config, in *config.Instance) (vrrp.Config, error) {
	if in.VRID < 1 || in.VRID > 255 {
		return vrrp.Config{}, fmt.Errorf("virtual_router_id %d out of range", in.VRID)
	}
	if in.Priority < 1 || in.Priority > 255 {
		return vrrp.Config{}, fmt.Errorf("priority %d out of range", in.Priority)
	}
	vc := vrrp.Config{
		Name:                 in.Name,
		Version:              in.Version,
		VRID:                 uint8(in.VRID),
		Priority:             uint8(in.Priority),
		AdvertInterval:       in.AdvertInt,
		NoPreempt:            in.NoPreempt,
		PreemptDelay:         in.PreemptDelay,
		HigherPrioSendAdvert: in.HigherPrioSendAdvert,
		LowerPrioNoAdvert:    in.LowerPrioNoAdvert,
		CheckUnicastSource:   in.CheckUnicastSrc,
		Source:               in.SrcIP,
	}
	if vc.Version == 0 {
		vc.Version = c.Global.VRRPVersion
	}
	if in.Accept != nil {
		vc.Accept = *in.Accept
	}
	if in.State == "MASTER" {
		vc.InitialState = vrrp.StateMaster
	} else {
		vc.InitialState = vrrp.StateBackup
	}
	if in.Priority == 255 {
		// The address owner becomes MASTER at once.
		vc.InitialState = vrrp.StateInit
	}
	if in.Auth != nil {
		switch in.Auth.Type {
		case "PASS":
			vc.AuthType, vc.AuthPass = vrrp.AuthSimple, in.Auth.Pass
		case "AH":
			vc.AuthType = vrrp.AuthAH
		}
	}
	v6 := in.IPv6()
	for _, a := range in.VirtualIPs {
		if a.Prefix.Addr().Is6() == v6 {
			vc.Addrs = append(vc.Addrs, a.Prefix.Addr())
		}
	}
	if len(vc.Addrs) > 255 {
		vc.Addrs = vc.Addrs[:255]
	}
	for _, p := range in.UnicastPeers {
		vc.Peers = append(vc.Peers, p.Addr)
		if p.MinTTL != 0 || (p.MaxTTL != 0 && p.MaxTTL != 255) {
			if vc.PeerTTL == nil {
				vc.PeerTTL = map[netip.Addr]vrrp.TTLRange{}
			}
			vc.PeerTTL[p.Addr] = vrrp.TTLRange{Min: uint8(clamp(p.MinTTL, 0, 255)), Max: uint8(clamp(p.MaxTTL, 0, 255))}
		}
	}
	if len(vc.Peers) > 0 {
		// As keepalived: no TTL check on unicast unless min/max_ttl are set.
		vc.UnicastTTL = vrrp.TTLRange{Min: 0, Max: 255}
	}
	vc.Track = trackedObjects(c, in)
	return vc, nil
}

// scopeOf maps an ip-address scope name to its number.
func scopeOf(s string) (uint8, error) {
	switch s {
	case "", "global", "universe":
		return 0, nil
	case "site":
		return 200, nil
	case "link":
		return 253, nil
	case "host":
		return 254, nil
	case "nowhere":
		return 255, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown scope %q", s)
	}
	return uint8(n), nil
}

// tableOf maps a routing table name to its number.
func tableOf(s string) (int, error) {
	switch s {
	case "", "main":
		return 254, nil
	case "local":
		return 255, nil
	case "default":
		return 253, nil
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("unknown routing table %q (only numbers, main, local, default)", s)
	}
	return int(n), nil
}

// vipAddresses returns the addresses to install while MASTER:
// virtual_ipaddress then virtual_ipaddress_excluded.
func vipAddresses(in *config.Instance) ([]vip.Address, []error) {
	var out []vip.Address
	var errs []error
	for _, a := range append(append([]config.Address(nil), in.VirtualIPs...), in.ExcludedVIPs...) {
		dev := a.Dev
		if dev == "" || (in.UseVMAC && dev == in.Interface) {
			dev = in.Interface
			if in.UseVMAC {
				// With use_vmac the addresses live on the VMAC interface.
				dev = vmacName(in)
			}
		}
		sc, err := scopeOf(a.Scope)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Prefix, err))
			continue
		}
		va := vip.Address{Prefix: a.Prefix, Interface: dev, Label: a.Label, Broadcast: a.Broadcast, Scope: sc}
		if a.Prefix.Addr().Is4() && a.Label != "" && !strings.HasPrefix(a.Label, dev) {
			va.Label = ""
			errs = append(errs, fmt.Errorf("%s: label %q must start with %q; ignored", a.Prefix, a.Label, dev))
		}
		if slicesContainsAddr(out, va) {
			continue
		}
		out = append(out, va)
	}
	return out, errs
}

func slicesContainsAddr(s []vip.Address, a vip.Address) bool {
	for _, x := range s {
		if x.Prefix == a.Prefix && x.Interface == a.Interface {
			return true
		}
	}
	return false
}

// vipRoutes translates virtual_routes; unsupported lines are reported.
func vipRoutes(in *config.Instance) ([]vip.Route, []error) {
	var out []vip.Route
	var errs []error
	for _, r := range in.VirtualRoutes {
		if r.Type != "" && r.Type != "unicast" {
			errs = append(errs, fmt.Errorf("route %s: type %s not supported", r.To, r.Type))
			continue
		}
		if len(r.Nexthops) > 0 || r.From.IsValid() {
			errs = append(errs, fmt.Errorf("route %s: multipath and source routes not supported", r.To))
			continue
		}
		tbl, err := tableOf(r.Table)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r.To, err))
			continue
		}
		sc, err := scopeOf(r.Scope)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r.To, err))
			continue
		}
		vr := vip.Route{Dst: r.To, Gateway: r.Via, Src: r.Src, Interface: r.Dev, Table: tbl, Scope: sc}
		if vr.Interface == "" && !vr.Gateway.IsValid() {
			vr.Interface = in.Interface
		}
		if r.Metric != nil {
			vr.Metric = int(*r.Metric)
		}
		out = append(out, vr)
	}
	return out, errs
}

// vipRules translates virtual_rules; unsupported options are reported.
func vipRules(in *config.Instance) ([]vip.Rule, []error) {
	var out []vip.Rule
	var errs []error
rules:
	for _, r := range in.VirtualRules {
		tbl, err := tableOf(r.Table)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule from %s to %s: %w", r.From, r.To, err))
			continue
		}
		vr := vip.Rule{From: r.From, To: r.To, Table: tbl, IPv6: in.IPv6()}
		if r.Preference != nil {
			vr.Priority = int(*r.Preference)
		}
		for i := 0; i < len(r.Options); i++ {
			o := r.Options[i]
			switch {
			case (o == "iif" || o == "dev") && i+1 < len(r.Options):
				i++
				vr.IifName = r.Options[i]
			case o == "oif" && i+1 < len(r.Options):
				i++
				vr.OifName = r.Options[i]
			default:
				errs = append(errs, fmt.Errorf("rule from %s to %s: option %q not supported", r.From, r.To, o))
				continue rules
			}
		}
		out = append(out, vr)
	}
	return out, errs
}

// announcePolicy is the vip announcement policy of an instance.
func announcePolicy(g *config.Global, in *config.Instance) vip.AnnouncePolicy {
	p := vip.AnnouncePolicy{
		Repeat:           in.GarpMasterRepeat,
		SecondBurstDelay: in.GarpMasterDelay,
		Refresh:          in.GarpMasterRefresh,
		RefreshRepeat:    in.GarpMasterRefreshRepeat,
		Interval:         g.VRRPGarpInterval,
	}
	if in.IPv6() {
		p.Interval = g.VRRPGnaInterval
	}
	if p.Repeat <= 0 {
		p.Repeat = g.VRRPGarpMasterRepeat
	}
	if p.SecondBurstDelay == 0 {
		// keepalived: garp_master_delay 0 means no second burst.
		p.SecondBurstDelay = -1
	}
	return p
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// daemonProblems lists what the daemon will skip or refuse in a parsed
// configuration (unsupported routes, rules, checkers, ...), for -t.
func daemonProblems(c *config.Config, file string) []config.Warning {
	var out []config.Warning
	add := func(pos config.Pos, prefix string, errs ...error) {
		for _, e := range errs {
			out = append(out, config.Warning{Pos: pos, Msg: prefix + e.Error()})
		}
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		pre := "(" + in.Name + ") "
		if _, err := vrrpConfig(c, in); err != nil {
			add(in.Pos, pre, err)
			continue
		}
		_, e := vipAddresses(in)
		add(in.Pos, pre, e...)
		_, e = vipRoutes(in)
		add(in.Pos, pre, e...)
		_, e = vipRules(in)
		add(in.Pos, pre, e...)
	}
	_, _, _, e := staticItems(c)
	add(config.Pos{File: file, Line: 1, Col: 1}, "static: ", e...)
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		if _, _, err := serviceTemplate(c, vs); err != nil {
			add(vs.Pos, vs.String()+": ", err)
		}
		for ri := range vs.RealServers {
			rs := &vs.RealServers[ri]
			if _, err := destination(vs, rs); err != nil {
				add(rs.Pos, vs.String()+": ", err)
			}
			for ci := range rs.Checkers {
				ck := &rs.Checkers[ci]
				if _, err := buildChecker(c, vs, rs, ck); err != nil {
					add(ck.Pos, vs.String()+": ", err)
				}
			}
		}
	}
	return out
}
