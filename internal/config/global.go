package config

import (
	"net/netip"
	"strconv"
	"time"
)

const maxTimer = 4294967295 * time.Microsecond // keepalived's upper bound for most timers

// globalKnown are global_defs keywords accepted and kept verbatim.
var globalKnown = keywords(`tmp_config_directory config_save_dir process_names process_name
	vrrp_process_name checker_process_name bfd_process_name startup_script startup_script_timeout
	shutdown_script shutdown_script_timeout checker_log_all_failures lvs_timeouts lvs_flush_on_stop
	vrrp_garp_extra_if vrrp_priority checker_priority bfd_priority vrrp_no_swap checker_no_swap
	bfd_no_swap vrrp_rt_priority checker_rt_priority bfd_rt_priority vrrp_rlimit_rttime
	checker_rlimit_rttime bfd_rlimit_rttime vrrp_cpu_affinity checker_cpu_affinity bfd_cpu_affinity
	vrrp_iptables vrrp_ipsets nftables nftables_priority nftables_ifindex nftables_counters
	nftables_ipvs nftables_ipvs_priority nftables_ipvs_start_fwmark vrrp_notify_fifo_script
	notify_fifo_script lvs_notify_fifo lvs_notify_fifo_script vrrp_notify_priority_changes
	enable_traps enable_dbus dbus_service_name enable_snmp_vrrp enable_snmp_checker enable_snmp_rfc
	enable_snmp_rfcv2 enable_snmp_rfcv3 snmp_socket dynamic_interfaces umask
	vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
	vrrp_netlink_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
	lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs
	process_monitor_rcv_bufs_force rs_init_notifies no_checker_emails vrrp_rx_bufs_policy
	vrrp_rx_bufs_multiplier vrrp_startup_delay log_unknown_vrids vmac_prefix vmac_addr_prefix
	reload_check_config reload_time_file reload_repeat reload_file include_check
	fifo_write_vrrp_states_on_reload data_use_instance namespace_with_ipsets net_namespace_ipvs
	use_pid_dir linkbeat_use_polling child_wait_time vrrp_garp_master_refresh_repeat_delay
	vrrp_track_process bfd_rlimit_time checker_rlimit_time vrrp_rlimit_time
	disable_local_igmp min_auto_priority_delay`)

var globalHandlers = map[string]handler{
	"router_id": func(d *decoder, n *node) { d.str(n, &d.cfg.Global.RouterID) },
	"notification_email": func(d *decoder, n *node) {
		d.cfg.Global.NotificationEmail = append(d.cfg.Global.NotificationEmail, d.names(n)...)
	},
	"notification_email_from": func(d *decoder, n *node) { d.str(n, &d.cfg.Global.NotificationEmailFrom) },
	"smtp_server": func(d *decoder, n *node) {
		g := &d.cfg.Global
		if t, ok := d.arg(n, 0, "an SMTP server address or name"); ok {
			g.SMTPServer = t.text
			if len(n.args) > 1 {
				if p, ok := d.port(n.args[1], "smtp_server port"); ok {
					g.SMTPPort = p
				}
			}
		}
	},
	"smtp_helo_name":                  func(d *decoder, n *node) { d.str(n, &d.cfg.Global.SMTPHeloName) },
	"smtp_connect_timeout":            func(d *decoder, n *node) { d.timer(n, time.Second, maxTimer, &d.cfg.Global.SMTPConnectTimeout) },
	"smtp_alert":                      func(d *decoder, n *node) { d.setFlagPtr(n, &d.cfg.Global.SMTPAlert) },
	"smtp_alert_vrrp":                 func(d *decoder, n *node) { d.setFlagPtr(n, &d.cfg.Global.SMTPAlertVRRP) },
	"smtp_alert_checker":              func(d *decoder, n *node) { d.setFlagPtr(n, &d.cfg.Global.SMTPAlertChecker) },
	"no_email_faults":                 func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.NoEmailFaults) },
	"default_interface":               func(d *decoder, n *node) { d.str(n, &d.cfg.Global.DefaultInterface) },
	"vrrp_mcast_group4":               mcastGroup(4, func(g *Global) *netip.Addr { return &g.VRRPMcastGroup4 }),
	"vrrp_mcast_group6":               mcastGroup(6, func(g *Global) *netip.Addr { return &g.VRRPMcastGroup6 }),
	"vrrp_version":                    func(d *decoder, n *node) { d.int(n, 2, 3, &d.cfg.Global.VRRPVersion) },
	"vrrp_strict":                     func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.VRRPStrict) },
	"vrrp_skip_check_adv_addr":        func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.VRRPSkipCheckAdvAddr) },
	"vrrp_check_unicast_src":          func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.VRRPCheckUnicastSrc) },
	"vrrp_garp_master_delay":          func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.cfg.Global.VRRPGarpMasterDelay) },
	"vrrp_garp_master_repeat":         func(d *decoder, n *node) { d.repeat(n, &d.cfg.Global.VRRPGarpMasterRepeat) },
	"vrrp_garp_lower_prio_delay":      func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.cfg.Global.VRRPGarpLowerPrioDelay) },
	"vrrp_garp_lower_prio_repeat":     func(d *decoder, n *node) { d.repeat(n, &d.cfg.Global.VRRPGarpLowerPrioRepeat) },
	"vrrp_garp_master_refresh":        func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.cfg.Global.VRRPGarpMasterRefresh) },
	"vrrp_garp_master_refresh_repeat": func(d *decoder, n *node) { d.repeat(n, &d.cfg.Global.VRRPGarpMasterRefreshRepeat) },
	"vrrp_garp_interval":              func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.cfg.Global.VRRPGarpInterval) },
	"vrrp_gna_interval":               func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.cfg.Global.VRRPGnaInterval) },
	"vrrp_min_garp":                   func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.VRRPMinGarp) },
	"vrrp_lower_prio_no_advert":       func(d *decoder, n *node) { d.setFlagPtr(n, &d.cfg.Global.VRRPLowerPrioNoAdvert) },
	"vrrp_higher_prio_send_advert":    func(d *decoder, n *node) { d.setFlagPtr(n, &d.cfg.Global.VRRPHigherPrioSendAdvert) },
	"vrrp_down_timer_adverts":         func(d *decoder, n *node) { d.int(n, 1, 100, &d.cfg.Global.VRRPDownTimerAdverts) },
	"vrrp_notify_fifo":                func(d *decoder, n *node) { d.notify(n, &d.cfg.Global.VRRPNotifyFifo) },
	"notify_fifo":                     func(d *decoder, n *node) { d.notify(n, &d.cfg.Global.NotifyFifo) },
	"lvs_sync_daemon":                 (*decoder).lvsSyncDaemon,
	"lvs_flush":                       func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.LVSFlush) },
	"enable_script_security":          func(d *decoder, n *node) { d.setFlag(n, &d.cfg.Global.EnableScriptSecurity) },
	"script_user": func(d *decoder, n *node) {
		d.str(n, &d.cfg.Global.ScriptUser)
		if len(n.args) > 1 {
			d.cfg.Global.ScriptGroup = n.args[1].text
		}
	},
	"max_auto_priority": func(d *decoder, n *node) {
		v := 99 // keepalived's default when no value is given
		if len(n.args) == 0 || d.int(n, -1, 99, &v) {
			d.cfg.Global.MaxAutoPriority = &v
		}
	},
	"net_namespace": func(d *decoder, n *node) { d.str(n, &d.cfg.Global.NetNamespace) },
	"instance":      func(d *decoder, n *node) { d.str(n, &d.cfg.Global.Instance) },
	"random_seed": func(d *decoder, n *node) {
		if t, ok := d.arg(n, 0, "an unsigned integer"); ok {
			v, err := strconv.ParseUint(t.text, 10, 64)
			if err != nil {
				d.warnf(t.pos, "random_seed: invalid number %q, expected an unsigned integer", t.text)
				return
			}
			d.cfg.Global.RandomSeed = &v
		}
	},
}

// mcastGroup is the handler of vrrp_mcast_group4 and vrrp_mcast_group6: a
// multicast address of IP version v stored where dst says.
func mcastGroup(v int, dst func(*Global) *netip.Addr) handler {
	return func(d *decoder, n *node) {
		var a netip.Addr
		if d.addr(n, &a) {
			if (v == 4) != a.Is4() || !a.IsMulticast() {
				d.warnf(n.args[0].pos, "%s: %s is not an IPv%d multicast address", n.name.text, a, v)
				return
			}
			*dst(&d.cfg.Global) = a
		}
	}
}

func (d *decoder) globalDefs(n *node) {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "global_defs: expected a block")
		return
	}
	for _, c := range n.children {
		d.gseen[c.name.text] = true
	}
	d.block(n.children, globalHandlers, globalKnown, &d.cfg.Global.Other)
}

func (d *decoder) lvsSyncDaemon(n *node) {
	t, ok := d.arg(n, 0, "an interface")
	if !ok {
		return
	}
	s := &LVSSyncDaemon{Interface: t.text, SyncID: -1}
	for i := 1; i < len(n.args); i++ {
		a := n.args[i]
		val := func(what string) (token, bool) {
			if i+1 >= len(n.args) {
				d.warnf(a.pos, "lvs_sync_daemon %s: missing value, expected %s", a.text, what)
				return token{}, false
			}
			i++
			return n.args[i], true
		}
		intVal := func(what string, lo, hi int64, set func(int64)) {
			if v, ok := val(what); ok {
				if x, ok := d.intTok(v, "lvs_sync_daemon "+a.text, lo, hi); ok {
					set(x)
				}
			}
		}
		switch a.text {
		case "inst":
			if v, ok := val("a vrrp_instance name"); ok {
				s.Instance = v.text
			}
		case "id":
			intVal("an integer in [0, 255]", 0, 255, func(x int64) { s.SyncID = int(x) })
		case "maxlen":
			intVal("an integer in [1, 65507]", 1, 65507, func(x int64) { s.MaxLen = int(x) })
		case "port":
			intVal("a port", 1, 65535, func(x int64) { s.Port = uint16(x) })
		case "ttl":
			intVal("an integer in [1, 255]", 1, 255, func(x int64) { s.TTL = int(x) })
		case "group":
			if v, ok := val("a multicast address"); ok {
				if x, ok := d.addrTok(v, "lvs_sync_daemon group"); ok {
					s.Group = x
				}
			}
		default:
			if i == 1 && s.Instance == "" {
				s.Instance = a.text // "inst" may be omitted
				continue
			}
			d.warnf(a.pos, "lvs_sync_daemon: unknown option %q, expected inst, id, maxlen, port, ttl or group", a.text)
		}
	}
	d.cfg.Global.LVSSyncDaemon = s
}

// globalDefaults returns Global with keepalived's defaults.
func globalDefaults() Global {
	return Global{
		SMTPPort:                    25,
		SMTPConnectTimeout:          30 * time.Second,
		VRRPMcastGroup4:             netip.AddrFrom4([4]byte{224, 0, 0, 18}),
		VRRPMcastGroup6:             netip.MustParseAddr("ff02::12"),
		VRRPVersion:                 2,
		VRRPGarpMasterDelay:         5 * time.Second,
		VRRPGarpMasterRepeat:        5,
		VRRPGarpMasterRefreshRepeat: 1,
		VRRPDownTimerAdverts:        3,
	}
}

// finishGlobal resolves defaults that depend on other settings.
func (d *decoder) finishGlobal() {
	g := &d.cfg.Global
	if g.VRRPMinGarp {
		if !d.gseen["vrrp_garp_master_repeat"] {
			g.VRRPGarpMasterRepeat = 1
		}
		if !d.gseen["vrrp_garp_master_delay"] {
			g.VRRPGarpMasterDelay = 0
		}
	}
	if !d.gseen["vrrp_garp_lower_prio_delay"] {
		g.VRRPGarpLowerPrioDelay = g.VRRPGarpMasterDelay
	}
	if !d.gseen["vrrp_garp_lower_prio_repeat"] {
		g.VRRPGarpLowerPrioRepeat = g.VRRPGarpMasterRepeat
	}
}
