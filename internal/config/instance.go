package config

import (
	"net/netip"
	"time"
)

func (d *decoder) curInst() *Instance { return &d.cfg.Instances[len(d.cfg.Instances)-1] }

func instFlag(f func(*Instance) *bool) handler {
	return func(d *decoder, n *node) { d.setFlag(n, f(d.curInst())) }
}

func instNotify(f func(*Instance) *Notify) handler {
	return func(d *decoder, n *node) { d.notify(n, f(d.curInst())) }
}

var instanceKnown = keywords(`vrf use_ipvlan debug kernel_rx_buf_size linkbeat_use_polling
	notify_deleted track_src_ip use_vmac_addr old_unicast_checksum garp_extra_if
	mcast_dst_port unicast_peer_port vmac_prefix`)

var instanceHandlers = newInstanceHandlers()

// newInstanceHandlers returns the handlers of the keywords of the block.
func newInstanceHandlers() map[string]handler {
	m := map[string]handler{
		"state": func(d *decoder, n *node) {
			if t, ok := d.arg(n, 0, "MASTER or BACKUP"); ok {
				switch t.text {
				case "MASTER", "BACKUP":
					d.curInst().State = t.text
				default:
					d.warnf(t.pos, "(%s) unknown state %q, expected MASTER or BACKUP; defaulting to BACKUP", d.curInst().Name, t.text)
				}
			}
		},
		"interface": func(d *decoder, n *node) { d.str(n, &d.curInst().Interface) },
		"virtual_router_id": func(d *decoder, n *node) {
			d.int(n, 1, 255, &d.curInst().VRID)
		},
		"priority": func(d *decoder, n *node) { d.int(n, 1, 255, &d.curInst().Priority) },
		"advert_int": func(d *decoder, n *node) {
			d.timer(n, 10*time.Millisecond, 255*time.Second, &d.curInst().AdvertInt)
		},
		"version":        func(d *decoder, n *node) { d.int(n, 2, 3, &d.curInst().Version) },
		"authentication": (*decoder).auth,
		"virtual_ipaddress": func(d *decoder, n *node) {
			i := d.curInst()
			as, pos := d.addresses(n)
			for idx, a := range as {
				if len(i.VirtualIPs) > 0 && a.Prefix.Addr().Is6() != i.VirtualIPs[0].Prefix.Addr().Is6() {
					d.warnf(pos[idx], "(%s) address family must match the VRRP instance [%s], ignoring", i.Name, a.Prefix)
					continue
				}
				i.VirtualIPs = append(i.VirtualIPs, a)
			}
		},
		"virtual_ipaddress_excluded": func(d *decoder, n *node) {
			i := d.curInst()
			as, _ := d.addresses(n)
			i.ExcludedVIPs = append(i.ExcludedVIPs, as...)
		},
		"virtual_routes": func(d *decoder, n *node) {
			i := d.curInst()
			i.VirtualRoutes = append(i.VirtualRoutes, d.routes(n)...)
		},
		"virtual_rules": func(d *decoder, n *node) {
			i := d.curInst()
			i.VirtualRules = append(i.VirtualRules, d.rules(n)...)
		},
		"unicast_src_ip": func(d *decoder, n *node) { d.addr(n, &d.curInst().SrcIP) },
		"mcast_src_ip":   func(d *decoder, n *node) { d.addr(n, &d.curInst().SrcIP) },
		"mcast_dst_ip": func(d *decoder, n *node) {
			var a netip.Addr
			if d.addr(n, &a) {
				if !a.IsMulticast() {
					d.warnf(n.args[0].pos, "mcast_dst_ip: %s is not a multicast address", a)
					return
				}
				d.curInst().McastDstIP = a
			}
		},
		"unicast_peer":          (*decoder).unicastPeers,
		"unicast_ttl":           func(d *decoder, n *node) { d.int(n, 0, 255, &d.curInst().UnicastTTL) },
		"unicast_fault_no_peer": instFlag(func(i *Instance) *bool { return &i.UnicastFaultNoPeer }),
		"check_unicast_src":     instFlag(func(i *Instance) *bool { return &i.CheckUnicastSrc }),
		"track_interface":       trackHandler(253, func(d *decoder) *[]Track { return &d.curInst().TrackInterfaces }),
		"track_script":          trackHandler(253, func(d *decoder) *[]Track { return &d.curInst().TrackScripts }),
		"track_file":            trackHandler(254, func(d *decoder) *[]Track { return &d.curInst().TrackFiles }),
		"track_process":         trackHandler(254, func(d *decoder) *[]Track { return &d.curInst().TrackProcesses }),
		"track_bfd":             trackHandler(253, func(d *decoder) *[]Track { return &d.curInst().TrackBFDs }),
		"dont_track_primary":    instFlag(func(i *Instance) *bool { return &i.DontTrackPrimary }),
		"nopreempt":             instFlag(func(i *Instance) *bool { return &i.NoPreempt }),
		"preempt": func(d *decoder, n *node) {
			if v, ok := d.flag(n); ok {
				d.curInst().NoPreempt = !v
			}
		},
		"preempt_delay": func(d *decoder, n *node) {
			d.timer(n, 0, 1000*time.Second, &d.curInst().PreemptDelay)
		},
		"accept": func(d *decoder, n *node) { d.setFlagPtr(n, &d.curInst().Accept) },
		"no_accept": func(d *decoder, n *node) {
			f := false
			d.curInst().Accept = &f
		},
		"use_vmac": func(d *decoder, n *node) {
			i := d.curInst()
			i.UseVMAC = true
			if len(n.args) > 0 {
				i.VMACName = n.args[0].text
			}
		},
		"vmac_xmit_base":             instFlag(func(i *Instance) *bool { return &i.VMACXmitBase }),
		"native_ipv6":                instFlag(func(i *Instance) *bool { return &i.NativeIPv6 }),
		"garp_master_delay":          func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curInst().GarpMasterDelay) },
		"garp_master_repeat":         func(d *decoder, n *node) { d.repeat(n, &d.curInst().GarpMasterRepeat) },
		"garp_lower_prio_delay":      func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curInst().GarpLowerPrioDelay) },
		"garp_lower_prio_repeat":     func(d *decoder, n *node) { d.repeat(n, &d.curInst().GarpLowerPrioRepeat) },
		"garp_master_refresh":        func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curInst().GarpMasterRefresh) },
		"garp_master_refresh_repeat": func(d *decoder, n *node) { d.repeat(n, &d.curInst().GarpMasterRefreshRepeat) },
		"lower_prio_no_advert":       instFlag(func(i *Instance) *bool { return &i.LowerPrioNoAdvert }),
		"higher_prio_send_advert":    instFlag(func(i *Instance) *bool { return &i.HigherPrioSendAdvert }),
		"down_timer_adverts":         func(d *decoder, n *node) { d.int(n, 1, 100, &d.curInst().DownTimerAdverts) },
		"skip_check_adv_addr":        instFlag(func(i *Instance) *bool { return &i.SkipCheckAdvAddr }),
		"strict_mode":                instFlag(func(i *Instance) *bool { return &i.Strict }),
		"promote_secondaries":        instFlag(func(i *Instance) *bool { return &i.PromoteSecondaries }),
		"lvs_sync_daemon_interface": func(d *decoder, n *node) {
			i := d.curInst()
			d.warnf(n.name.pos, "(%s) specifying lvs_sync_daemon_interface against a vrrp is deprecated, use global lvs_sync_daemon", i.Name)
			var ifname string
			d.str(n, &ifname)
			if ifname != "" && d.cfg.Global.LVSSyncDaemon == nil {
				d.cfg.Global.LVSSyncDaemon = &LVSSyncDaemon{Interface: ifname, Instance: i.Name, SyncID: -1}
			}
		},
		"notify_master":              instNotify(func(i *Instance) *Notify { return &i.NotifyMaster }),
		"notify_backup":              instNotify(func(i *Instance) *Notify { return &i.NotifyBackup }),
		"notify_fault":               instNotify(func(i *Instance) *Notify { return &i.NotifyFault }),
		"notify_stop":                instNotify(func(i *Instance) *Notify { return &i.NotifyStop }),
		"notify":                     instNotify(func(i *Instance) *Notify { return &i.Notify }),
		"notify_master_rx_lower_pri": instNotify(func(i *Instance) *Notify { return &i.NotifyMasterRxLowerPri }),
		"notify_priority_changes":    instFlag(func(i *Instance) *bool { return &i.NotifyPriorityChanges }),
		"smtp_alert":                 func(d *decoder, n *node) { d.setFlagPtr(n, &d.curInst().SMTPAlert) },
	}
	return m
}

func (d *decoder) instance(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	d.cfg.Instances = append(d.cfg.Instances, Instance{Name: name, Pos: n.name.pos, State: "BACKUP",
		Priority: 100, AdvertInt: time.Second, UnicastTTL: 255})
	seen := map[string]bool{}
	for _, c := range n.children {
		seen[c.name.text] = true
	}
	d.iseen = append(d.iseen, seen)
	d.block(n.children, instanceHandlers, instanceKnown, &d.curInst().Other)
}

func (d *decoder) auth(n *node) {
	i := d.curInst()
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "authentication: expected a block")
		return
	}
	a := &Auth{}
	h := map[string]handler{
		"auth_type": func(d *decoder, n *node) {
			if t, ok := d.arg(n, 0, "PASS or AH"); ok {
				if t.text != "PASS" && t.text != "AH" {
					d.warnf(t.pos, "(%s) unknown auth_type %q, expected PASS or AH", i.Name, t.text)
					return
				}
				a.Type = t.text
			}
		},
		"auth_pass": func(d *decoder, n *node) {
			if t, ok := d.arg(n, 0, "a password"); ok {
				a.Pass = t.text
				if len(a.Pass) > 8 {
					d.warnf(t.pos, "(%s) truncating auth_pass to 8 characters", i.Name)
					a.Pass = a.Pass[:8]
				}
			}
		},
	}
	d.block(n.children, h, nil, nil)
	if a.Type == "" {
		if a.Pass != "" {
			a.Type = "PASS"
		} else {
			return
		}
	}
	i.Auth = a
}

func (d *decoder) unicastPeers(n *node) {
	i := d.curInst()
	ps := blockLines(d, n, func(c *node) (UnicastPeer, bool) {
		a, ok := d.addrTok(c.name, "unicast_peer")
		if !ok {
			return UnicastPeer{}, false
		}
		p := UnicastPeer{Pos: c.name.pos, Addr: a, MaxTTL: 255}
		for j := 0; j < len(c.args); j++ {
			t := c.args[j]
			if (t.text == "min_ttl" || t.text == "max_ttl") && j+1 < len(c.args) {
				j++
				if v, ok := d.intTok(c.args[j], "unicast_peer "+t.text, 0, 255); ok {
					if t.text == "min_ttl" {
						p.MinTTL = int(v)
					} else {
						p.MaxTTL = int(v)
					}
				}
				continue
			}
			d.warnf(t.pos, "unicast_peer %s: unknown option %q, expected min_ttl or max_ttl", a, t.text)
		}
		return p, true
	})
	i.UnicastPeers = append(i.UnicastPeers, ps...)
}
