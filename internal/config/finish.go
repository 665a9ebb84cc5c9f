package config

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// finish applies cross-block defaults and keepalived's validation.
func (d *decoder) finish() {
	d.finishGlobal()
	g := &d.cfg.Global
	scripts := map[string]bool{}
	for _, s := range d.cfg.Scripts {
		scripts[s.Name] = true
	}
	files := map[string]bool{}
	for _, f := range d.cfg.TrackFiles {
		files[f.Name] = true
	}
	procs := map[string]bool{}
	for _, p := range d.cfg.TrackProcesses {
		procs[p.Name] = true
	}
	bfds := map[string]bool{} // available to vrrp
	for _, b := range d.cfg.BFDInstances {
		bfds[b.Name] = b.VRRP
	}
	filter := func(owner, what string, ts []Track, known map[string]bool) []Track {
		out := ts[:0]
		for _, t := range ts {
			if !known[t.Name] {
				d.warnf(t.Pos, "(%s) %s %s not found, ignoring", owner, what, t.Name)
				continue
			}
			out = append(out, t)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	defIf := g.DefaultInterface
	if defIf == "" {
		defIf = "eth0"
	}
	for i := range d.cfg.StaticAddresses {
		if d.cfg.StaticAddresses[i].Dev == "" {
			d.cfg.StaticAddresses[i].Dev = defIf
		}
	}
	tgs := map[string]bool{}
	for _, g := range d.cfg.TrackGroups {
		tgs[g.Name] = true
	}
	for i := range d.cfg.StaticAddresses {
		a := &d.cfg.StaticAddresses[i]
		if a.TrackGroup != "" && !tgs[a.TrackGroup] {
			d.warnf(d.staticPos[i], "track_group %s not found, ignoring", a.TrackGroup)
			a.TrackGroup = ""
		}
	}
	var kept []Instance
	names := map[string]bool{}
	type vridKey struct {
		ifname string
		vrid   int
		v6     bool
	}
	vrids := map[vridKey]string{}
	for idx := range d.cfg.Instances {
		i := &d.cfg.Instances[idx]
		seen := d.iseen[idx]
		if names[i.Name] {
			d.p.problemf(DroppedObject, i.Pos, "vrrp_instance %s defined more than once, ignoring the second one", i.Name)
			continue
		}
		if i.VRID == 0 {
			d.p.problemf(DroppedObject, i.Pos, "(%s) the virtual router id must be set, expected virtual_router_id 1..255; removing instance", i.Name)
			continue
		}
		d.finishInstance(i, seen, g)
		i.TrackScripts = filter(i.Name, "track script", i.TrackScripts, scripts)
		i.TrackFiles = filter(i.Name, "track file", i.TrackFiles, files)
		i.TrackProcesses = filter(i.Name, "track process", i.TrackProcesses, procs)
		i.TrackBFDs = filter(i.Name, "track bfd", i.TrackBFDs, bfds)
		k := vridKey{i.Interface, i.VRID, i.family6()}
		if other, dup := vrids[k]; dup && i.Interface != "" {
			d.warnf(i.Pos, "(%s) virtual_router_id %d on %s is already used by %s", i.Name, i.VRID, i.Interface, other)
		}
		vrids[k] = i.Name
		names[i.Name] = true
		kept = append(kept, *i)
	}
	d.cfg.Instances = kept

	inGroup := map[string]string{}
	var groups []SyncGroup
	for gi, sg := range d.cfg.SyncGroups {
		var members []string
		for _, m := range sg.Group {
			if !names[m] {
				d.warnf(sg.Pos, "vrrp_sync_group %s: virtual router %s does not exist, ignoring", sg.Name, m)
				continue
			}
			if o, ok := inGroup[m]; ok {
				d.warnf(sg.Pos, "vrrp_sync_group %s: virtual router %s is already in sync group %s, ignoring", sg.Name, m, o)
				continue
			}
			inGroup[m] = sg.Name
			members = append(members, m)
		}
		if len(members) == 0 {
			// keepalived drops it, silently when there is no group block
			if d.sgHasGroup[gi] {
				d.warnf(sg.Pos, "sync group %s has no virtual router(s), removing", sg.Name)
			}
			continue
		}
		sg.Group = members
		sg.TrackScripts = filter(sg.Name, "track script", sg.TrackScripts, scripts)
		sg.TrackFiles = filter(sg.Name, "track file", sg.TrackFiles, files)
		sg.TrackProcesses = filter(sg.Name, "track process", sg.TrackProcesses, procs)
		sg.TrackBFDs = filter(sg.Name, "track bfd", sg.TrackBFDs, bfds)
		groups = append(groups, sg)
	}
	d.cfg.SyncGroups = groups

	vsgs := map[string]bool{}
	for _, g := range d.cfg.VirtualServerGroups {
		vsgs[g.Name] = true
	}
	var vss []VirtualServer
	for _, vs := range d.cfg.VirtualServers {
		if vs.Group != "" && !vsgs[vs.Group] {
			d.warnf(vs.Pos, "virtual_server group %s: no such virtual_server_group, removing virtual server", vs.Group)
			continue
		}
		vss = append(vss, vs)
	}
	d.cfg.VirtualServers = vss
}

func (i *Instance) family6() bool {
	if len(i.VirtualIPs) > 0 {
		return i.VirtualIPs[0].Prefix.Addr().Is6()
	}
	if i.SrcIP.IsValid() {
		return i.SrcIP.Is6()
	}
	return false
}

func (d *decoder) finishInstance(i *Instance, seen map[string]bool, g *Global) {
	warn := func(format string, args ...any) {
		d.warnf(i.Pos, "(%s) %s", i.Name, fmt.Sprintf(format, args...))
	}
	if !seen["strict_mode"] {
		i.Strict = g.VRRPStrict
	}
	if !seen["skip_check_adv_addr"] {
		i.SkipCheckAdvAddr = g.VRRPSkipCheckAdvAddr
	}
	if !seen["check_unicast_src"] {
		i.CheckUnicastSrc = g.VRRPCheckUnicastSrc
	}
	inherit := func(kw string, dst *time.Duration, v time.Duration) {
		if !seen[kw] {
			*dst = v
		}
	}
	// 0 is never a valid count here (repeats of 0 become 1): a keyword
	// whose value was rejected leaves 0 and inherits, as one left out.
	inheritInt := func(kw string, dst *int, v int) {
		if !seen[kw] || *dst == 0 {
			*dst = v
		}
	}
	inherit("garp_master_delay", &i.GarpMasterDelay, g.VRRPGarpMasterDelay)
	inheritInt("garp_master_repeat", &i.GarpMasterRepeat, g.VRRPGarpMasterRepeat)
	inherit("garp_lower_prio_delay", &i.GarpLowerPrioDelay, g.VRRPGarpLowerPrioDelay)
	if seen["garp_master_delay"] && !seen["garp_lower_prio_delay"] && !d.gseen["vrrp_garp_lower_prio_delay"] {
		i.GarpLowerPrioDelay = i.GarpMasterDelay
	}
	inheritInt("garp_lower_prio_repeat", &i.GarpLowerPrioRepeat, g.VRRPGarpLowerPrioRepeat)
	if seen["garp_master_repeat"] && !seen["garp_lower_prio_repeat"] && !d.gseen["vrrp_garp_lower_prio_repeat"] {
		i.GarpLowerPrioRepeat = i.GarpMasterRepeat
	}
	inherit("garp_master_refresh", &i.GarpMasterRefresh, g.VRRPGarpMasterRefresh)
	inheritInt("garp_master_refresh_repeat", &i.GarpMasterRefreshRepeat, g.VRRPGarpMasterRefreshRepeat)
	inheritInt("down_timer_adverts", &i.DownTimerAdverts, g.VRRPDownTimerAdverts)
	if !seen["lower_prio_no_advert"] {
		i.LowerPrioNoAdvert = i.Strict
		if g.VRRPLowerPrioNoAdvert != nil {
			i.LowerPrioNoAdvert = *g.VRRPLowerPrioNoAdvert
		}
	}
	if !seen["higher_prio_send_advert"] && g.VRRPHigherPrioSendAdvert != nil {
		i.HigherPrioSendAdvert = *g.VRRPHigherPrioSendAdvert
	}

	v6 := i.family6()
	for _, l := range [][]Address{i.VirtualIPs, i.ExcludedVIPs} {
		for j := range l {
			if l[j].Dev == "" {
				l[j].Dev = i.Interface
			}
		}
	}
	if !seen["version"] || i.Version == 0 { // left out, or its value rejected
		i.Version = g.VRRPVersion
		if v6 {
			i.Version = 3
		}
	}
	if v6 && i.Version == 2 {
		warn("VRRP version 2 does not support IPv6, using version 3")
		i.Version = 3
	}
	switch i.Version {
	case 2:
		if r := i.AdvertInt % time.Second; r != 0 {
			secs := math.Round(i.AdvertInt.Seconds())
			if secs < 1 {
				secs = 1
			}
			warn("VRRPv2 advertisement interval %ss must be an integer, rounding", fmtSeconds(i.AdvertInt))
			i.AdvertInt = time.Duration(secs) * time.Second
		}
	case 3:
		if r := i.AdvertInt % (10 * time.Millisecond); r != 0 {
			warn("VRRPv3 advertisement interval %ss has a resolution of 10ms, rounding", fmtSeconds(i.AdvertInt))
			i.AdvertInt = i.AdvertInt.Round(10 * time.Millisecond)
		}
		if i.AdvertInt > 40950*time.Millisecond {
			warn("VRRPv3 advertisement interval %ss exceeds 40.95s, using 40.95s", fmtSeconds(i.AdvertInt))
			i.AdvertInt = 40950 * time.Millisecond
		}
		if i.Auth != nil {
			warn("authentication is not supported with VRRPv3, ignoring")
			i.Auth = nil
		}
	}
	if i.Auth != nil && i.Auth.Type == "AH" && i.State == "MASTER" {
		warn("initial state MASTER is incompatible with AH authentication, clearing (state BACKUP)")
		i.State = "BACKUP"
	}
	if i.Strict {
		if len(i.VirtualIPs) == 0 {
			warn("strict mode: at least one VIP is required")
		}
		if len(i.UnicastPeers) > 0 {
			warn("strict mode does not support unicast peers, ignoring them")
			i.UnicastPeers = nil
		}
		if i.State == "MASTER" && i.Priority != 255 {
			warn("strict mode: state MASTER must match being address owner (priority 255), using BACKUP")
			i.State = "BACKUP"
		}
		if i.Auth != nil {
			warn("strict mode does not support authentication, ignoring")
			i.Auth = nil
		}
		if i.PreemptDelay != 0 {
			warn("strict mode does not support preempt_delay, ignoring")
			i.PreemptDelay = 0
		}
		if i.Accept != nil && *i.Accept && i.Version == 2 {
			warn("strict mode: accept mode cannot be set for VRRPv2, clearing")
			f := false
			i.Accept = &f
		}
		if i.Accept == nil {
			a := i.Priority == 255
			i.Accept = &a
		}
		if v6 && len(i.VirtualIPs) > 0 && !i.VirtualIPs[0].Prefix.Addr().IsLinkLocalUnicast() {
			warn("strict mode: the first IPv6 VIP should be link local")
		}
		if i.HigherPrioSendAdvert {
			warn("strict mode: cannot set higher_prio_send_advert, clearing")
			i.HigherPrioSendAdvert = false
		}
		if !i.LowerPrioNoAdvert {
			warn("strict mode: cannot clear lower_prio_no_advert, setting")
			i.LowerPrioNoAdvert = true
		}
		if i.VMACXmitBase {
			warn("strict mode: cannot use vmac_xmit_base, clearing")
			i.VMACXmitBase = false
		}
	} else if len(i.VirtualIPs) == 0 {
		warn("no VIP specified; at least one is sensible")
	}
	if i.NativeIPv6 && !v6 && len(i.VirtualIPs) > 0 {
		warn("cannot specify native_ipv6 with IPv4 addresses, clearing")
		i.NativeIPv6 = false
	}
	if i.SrcIP.IsValid() && i.SrcIP.Is6() != v6 {
		warn("unicast_src_ip/mcast_src_ip %s is not of the instance's address family, ignoring", i.SrcIP)
		i.SrcIP = netip.Addr{}
	}
	peers := i.UnicastPeers[:0]
	for _, p := range i.UnicastPeers {
		if p.Addr.Is6() != v6 {
			d.warnf(p.Pos, "(%s) unicast peer %s must be of the same family as the instance, skipping", i.Name, p.Addr)
			continue
		}
		peers = append(peers, p)
	}
	i.UnicastPeers = peers
	if len(i.UnicastPeers) == 0 {
		i.UnicastPeers = nil
		if seen["unicast_src_ip"] {
			warn("a unicast keyword has been specified without any unicast peers, defaulting to multicast; this usage is deprecated")
		}
	}
	if seen["unicast_ttl"] && len(i.UnicastPeers) == 0 && i.UnicastTTL != 255 {
		warn("cannot use unicast_ttl without unicast peers, resetting")
		i.UnicastTTL = 255
	}
	if i.NoPreempt && i.State == "MASTER" {
		warn("nopreempt will not work with initial state MASTER, clearing nopreempt")
		i.NoPreempt = false
	}
	if i.Accept == nil {
		a := true // keepalived's default is accept unless strict
		i.Accept = &a
	}
	if i.Interface == "" && len(i.UnicastPeers) == 0 {
		warn("no interface specified, expected interface NAME")
	}
}
