package main

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

// This file is the pure translation of a parsed keepalived.conf into the
// configurations of the suite's packages, and the reload diff. Nothing here
// touches the system.

// Tracked object name prefixes: one namespace per kind of tracked object,
// so that a script and a file of the same name do not collide.
const (
	trackScriptPrefix = "script:"
	trackFilePrefix   = "file:"
	trackIfacePrefix  = "iface:"
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

// trackedObjects lists the instance's tracked objects (scripts, files
// without weight, interfaces, and its own interface unless
// dont_track_primary) with their weights. Files with a weight adjust the
// base priority instead (see fileOffset), so they are not listed.
func trackedObjects(c *config.Config, in *config.Instance) []vrrp.TrackedObject {
	var out []vrrp.TrackedObject
	seen := map[string]bool{}
	add := func(o vrrp.TrackedObject) {
		if seen[o.Name] {
			return
		}
		seen[o.Name] = true
		o.Weight = clamp(o.Weight, -254, 254)
		out = append(out, o)
	}
	sg, _ := c.SyncGroupOf(in.Name)
	scripts := in.TrackScripts
	ifaces := in.TrackInterfaces
	files := in.TrackFiles
	if sg != nil {
		scripts = append(append([]config.Track(nil), scripts...), sg.TrackScripts...)
		ifaces = append(append([]config.Track(nil), ifaces...), sg.TrackInterfaces...)
		files = append(append([]config.Track(nil), files...), sg.TrackFiles...)
	}
	for _, t := range scripts {
		s, ok := c.Script(t.Name)
		if !ok {
			continue
		}
		w, rev := s.Weight, s.Reverse
		if t.Weighted {
			w, rev = t.Weight, t.Reverse
		}
		add(vrrp.TrackedObject{Name: trackScriptPrefix + t.Name, Weight: w, Reverse: rev})
	}
	for _, t := range files {
		f, ok := c.TrackFile(t.Name)
		if !ok {
			continue
		}
		if w, _ := fileWeight(f, t); w == 0 {
			add(vrrp.TrackedObject{Name: trackFilePrefix + t.Name})
		}
	}
	procs := in.TrackProcesses
	if sg != nil {
		procs = append(append([]config.Track(nil), procs...), sg.TrackProcesses...)
	}
	for _, t := range procs {
		p, ok := c.TrackProcess(t.Name)
		if !ok {
			continue
		}
		w, rev := p.Weight, p.Reverse
		if t.Weighted {
			w, rev = t.Weight, t.Reverse
		}
		add(vrrp.TrackedObject{Name: trackProcessPrefix + t.Name, Weight: w, Reverse: rev})
	}
	bfds := in.TrackBFDs
	if sg != nil {
		bfds = append(append([]config.Track(nil), bfds...), sg.TrackBFDs...)
	}
	for _, t := range bfds {
		b, ok := c.BFDInstance(t.Name)
		if !ok {
			continue
		}
		w, rev := b.Weight, b.Reverse
		if t.Weighted {
			w, rev = t.Weight, t.Reverse
		}
		add(vrrp.TrackedObject{Name: trackBFDPrefix + t.Name, Weight: w, Reverse: rev})
	}
	if !in.DontTrackPrimary && in.Interface != "" {
		add(vrrp.TrackedObject{Name: trackIfacePrefix + in.Interface})
	}
	for _, t := range ifaces {
		w := 0
		if t.Weighted {
			w = t.Weight
		}
		add(vrrp.TrackedObject{Name: trackIfacePrefix + t.Name, Weight: w, Reverse: t.Reverse})
	}
	return out
}

// fileWeight returns the weight and reverse flag that apply to a tracked
// file: the track line's, else the track_file block's.
func fileWeight(f *config.TrackFile, t config.Track) (int, bool) {
	if t.Weighted {
		return t.Weight, t.Reverse
	}
	return f.Weight, f.Reverse
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

// notifyExtra returns the arguments appended to the generic notify
// script for a transition: "INSTANCE" (or "GROUP") name state priority, as
// keepalived passes them.
func notifyExtra(typ, name, state string, prio int) []string {
	return []string{typ, name, state, strconv.Itoa(prio)}
}

// fifoLine is the notify_fifo line of a transition.
func fifoLine(typ, name, state string, prio int) string {
	if typ == "GROUP" {
		return fmt.Sprintf("GROUP %q %s\n", name, state)
	}
	return fmt.Sprintf("%s %q %s %d\n", typ, name, state, prio)
}

// instanceSpec is what decides whether a running instance must change on
// reload: the instance block and everything it refers to, positions
// cleared.
type instanceSpec struct {
	Inst    config.Instance
	Scripts []config.Script
	Files   []config.TrackFile
	Procs   []config.TrackProcess
	BFDs    []config.BFDInstance
	Group   string
	Garp    [3]time.Duration
}

// specOf returns the reload spec of instance in of c.
func specOf(c *config.Config, in *config.Instance) instanceSpec {
	s := instanceSpec{Inst: *in}
	s.Inst.Pos = config.Pos{}
	s.Inst.TrackScripts = clearTrackPos(in.TrackScripts)
	s.Inst.TrackFiles = clearTrackPos(in.TrackFiles)
	s.Inst.TrackInterfaces = clearTrackPos(in.TrackInterfaces)
	s.Inst.TrackProcesses = clearTrackPos(in.TrackProcesses)
	s.Inst.TrackBFDs = clearTrackPos(in.TrackBFDs)
	s.Inst.UnicastPeers = append([]config.UnicastPeer(nil), in.UnicastPeers...)
	for i := range s.Inst.UnicastPeers {
		s.Inst.UnicastPeers[i].Pos = config.Pos{}
	}
	sg, ok := c.SyncGroupOf(in.Name)
	if ok {
		g := *sg
		g.Pos = config.Pos{}
		g.TrackScripts = clearTrackPos(g.TrackScripts)
		g.TrackFiles = clearTrackPos(g.TrackFiles)
		g.TrackInterfaces = clearTrackPos(g.TrackInterfaces)
		g.TrackProcesses = clearTrackPos(g.TrackProcesses)
		g.TrackBFDs = clearTrackPos(g.TrackBFDs)
		s.Group = fmt.Sprintf("%+v", g)
	}
	for _, t := range append(append([]config.Track(nil), in.TrackScripts...), groupTracks(sg, true)...) {
		if sc, ok := c.Script(t.Name); ok {
			x := *sc
			x.Pos = config.Pos{}
			s.Scripts = append(s.Scripts, x)
		}
	}
	for _, t := range append(append([]config.Track(nil), in.TrackFiles...), groupTracks(sg, false)...) {
		if f, ok := c.TrackFile(t.Name); ok {
			x := *f
			x.Pos = config.Pos{}
			s.Files = append(s.Files, x)
		}
	}
	procs := in.TrackProcesses
	if sg != nil {
		procs = append(append([]config.Track(nil), procs...), sg.TrackProcesses...)
	}
	for _, t := range procs {
		if p, ok := c.TrackProcess(t.Name); ok {
			x := *p
			x.Pos = config.Pos{}
			s.Procs = append(s.Procs, x)
		}
	}
	bfds := in.TrackBFDs
	if sg != nil {
		bfds = append(append([]config.Track(nil), bfds...), sg.TrackBFDs...)
	}
	for _, t := range bfds {
		if b, ok := c.BFDInstance(t.Name); ok {
			x := *b
			x.Pos = config.Pos{}
			s.BFDs = append(s.BFDs, x)
		}
	}
	s.Garp = [3]time.Duration{c.Global.VRRPGarpInterval, c.Global.VRRPGnaInterval, 0}
	return s
}

func groupTracks(sg *config.SyncGroup, scripts bool) []config.Track {
	if sg == nil {
		return nil
	}
	if scripts {
		return sg.TrackScripts
	}
	return sg.TrackFiles
}

func clearTrackPos(ts []config.Track) []config.Track {
	if ts == nil {
		return nil
	}
	out := append([]config.Track(nil), ts...)
	for i := range out {
		out[i].Pos = config.Pos{}
	}
	return out
}

// changeKind says what a reload does to one instance.
type changeKind int

const (
	changeKeep    changeKind = iota // identical: leave it running untouched
	changeUpdate                    // Instance.Update plus address reconciliation
	changeRestart                   // stop and start again (VRID, family, interface, ...)
	changeAdd                       // new instance
	changeRemove                    // instance gone
)

func (k changeKind) String() string {
	return [...]string{"keep", "update", "restart", "add", "remove"}[k]
}

// change is one entry of a reload plan.
type change struct {
	Name string
	Kind changeKind
}

// diffInstances plans a reload from old to new, in the order of new's
// instances, then removals in the order of old's.
func diffInstances(oldC, newC *config.Config) []change {
	var out []change
	for i := range newC.Instances {
		n := &newC.Instances[i]
		o, ok := oldC.Instance(n.Name)
		if !ok {
			out = append(out, change{n.Name, changeAdd})
			continue
		}
		os, ns := specOf(oldC, o), specOf(newC, n)
		switch {
		case reflect.DeepEqual(os, ns):
			out = append(out, change{n.Name, changeKeep})
		case needsRestart(os, ns):
			out = append(out, change{n.Name, changeRestart})
		default:
			out = append(out, change{n.Name, changeUpdate})
		}
	}
	for i := range oldC.Instances {
		if _, ok := newC.Instance(oldC.Instances[i].Name); !ok {
			out = append(out, change{oldC.Instances[i].Name, changeRemove})
		}
	}
	return out
}

// needsRestart reports whether a change cannot be applied by
// Instance.Update: identity (VRID, version, family), socket (interface,
// source), authentication, sync group membership, announcement policy and
// VMAC.
func needsRestart(o, n instanceSpec) bool {
	a, b := o.Inst, n.Inst
	return a.VRID != b.VRID || a.Version != b.Version || a.IPv6() != b.IPv6() ||
		a.Interface != b.Interface || a.SrcIP != b.SrcIP ||
		!reflect.DeepEqual(a.Auth, b.Auth) || o.Group != n.Group ||
		a.UseVMAC != b.UseVMAC || a.GarpMasterDelay != b.GarpMasterDelay ||
		a.GarpMasterRepeat != b.GarpMasterRepeat || a.GarpMasterRefresh != b.GarpMasterRefresh ||
		a.GarpMasterRefreshRepeat != b.GarpMasterRefreshRepeat || o.Garp != n.Garp
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
