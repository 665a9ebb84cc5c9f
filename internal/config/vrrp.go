package config

import (
	"net/netip"
	"strings"
	"time"
)

var scriptHandlers = map[string]handler{
	"script":    func(d *decoder, n *node) { d.strJoin(n, &d.curScript().Script) },
	"interval":  func(d *decoder, n *node) { d.seconds(n, &d.curScript().Interval) },
	"timeout":   func(d *decoder, n *node) { d.seconds(n, &d.curScript().Timeout) },
	"weight":    func(d *decoder, n *node) { s := d.curScript(); d.weight(n, -253, 253, &s.Weight, &s.Reverse) },
	"rise":      func(d *decoder, n *node) { d.int(n, 1, 1<<31-1, &d.curScript().Rise) },
	"fall":      func(d *decoder, n *node) { d.int(n, 1, 1<<31-1, &d.curScript().Fall) },
	"init_fail": func(d *decoder, n *node) { d.setFlag(n, &d.curScript().InitFail) },
	"user": func(d *decoder, n *node) {
		s := d.curScript()
		d.str(n, &s.User)
		if len(n.args) > 1 {
			s.Group = n.args[1].text
		}
	},
}

func (d *decoder) curScript() *Script { return &d.cfg.Scripts[len(d.cfg.Scripts)-1] }

// strJoin reads a string argument; extra unquoted words are joined with
// spaces (keepalived accepts an unquoted script with arguments).
func (d *decoder) strJoin(n *node, dst *string) {
	if _, ok := d.arg(n, 0, "a string"); ok {
		*dst = strings.Join(n.argStrings(), " ")
	}
}

// weight reads "weight W [reverse]".
func (d *decoder) weight(n *node, lo, hi int64, w *int, rev *bool) {
	if d.int(n, lo, hi, w) && len(n.args) > 1 {
		switch n.args[1].text {
		case "reverse":
			*rev = true
		case "noreverse", "no_reverse":
			*rev = false
		default:
			d.warnf(n.args[1].pos, "weight: unknown option %q, expected reverse", n.args[1].text)
		}
	}
}

func (d *decoder) vrrpScript(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	d.cfg.Scripts = append(d.cfg.Scripts, Script{Name: name, Pos: n.name.pos, Interval: time.Second, Rise: 1, Fall: 1})
	d.block(n.children, scriptHandlers, nil, nil)
	s := d.curScript()
	if s.Script == "" {
		d.warnf(n.end, "no script set for vrrp_script %s, removing", name)
		d.cfg.Scripts = d.cfg.Scripts[:len(d.cfg.Scripts)-1]
	}
}

var trackFileHandlers = map[string]handler{
	"file": func(d *decoder, n *node) { d.str(n, &d.curTrackFile().File) },
	"weight": func(d *decoder, n *node) {
		f := d.curTrackFile()
		d.weight(n, -2147483647, 2147483647, &f.Weight, &f.Reverse)
	},
	"init_file": func(d *decoder, n *node) {
		f := d.curTrackFile()
		f.InitFile = true
		for _, a := range n.args {
			if a.text == "overwrite" {
				f.Overwrite = true
				continue
			}
			if v, ok := d.intTok(a, "init_file", -2147483648, 2147483647); ok {
				f.InitValue = int(v)
			}
		}
	},
}

func (d *decoder) curTrackFile() *TrackFile { return &d.cfg.TrackFiles[len(d.cfg.TrackFiles)-1] }

func (d *decoder) trackFile(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	d.cfg.TrackFiles = append(d.cfg.TrackFiles, TrackFile{Name: name, Pos: n.name.pos, Weight: 1})
	d.block(n.children, trackFileHandlers, nil, nil)
	if d.curTrackFile().File == "" {
		d.warnf(n.end, "no file set for track_file %s, removing", name)
		d.cfg.TrackFiles = d.cfg.TrackFiles[:len(d.cfg.TrackFiles)-1]
	}
}

var trackProcessHandlers = map[string]handler{
	"process": func(d *decoder, n *node) {
		p := d.curTrackProcess()
		if t, ok := d.arg(n, 0, "a process name"); ok {
			p.Process = t.text
			p.Params = nil
			for _, a := range n.args[1:] {
				p.Params = append(p.Params, a.text)
			}
		}
	},
	"param_match": func(d *decoder, n *node) {
		if t, ok := d.arg(n, 0, "initial or partial"); ok {
			if t.text != "initial" && t.text != "partial" {
				d.warnf(t.pos, "param_match: invalid value %q, expected initial or partial", t.text)
				return
			}
			d.curTrackProcess().ParamMatch = t.text
		}
	},
	"weight":          func(d *decoder, n *node) { p := d.curTrackProcess(); d.weight(n, -254, 254, &p.Weight, &p.Reverse) },
	"quorum":          func(d *decoder, n *node) { d.int(n, 1, 1<<31-1, &d.curTrackProcess().Quorum) },
	"quorum_max":      func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curTrackProcess().QuorumMax) },
	"fork_delay":      func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curTrackProcess().ForkDelay) },
	"terminate_delay": func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curTrackProcess().TermDelay) },
	"delay":           func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curTrackProcess().Delay) },
	"full_command":    func(d *decoder, n *node) { d.setFlag(n, &d.curTrackProcess().FullCommand) },
}

func (d *decoder) curTrackProcess() *TrackProcess {
	return &d.cfg.TrackProcesses[len(d.cfg.TrackProcesses)-1]
}

func (d *decoder) trackProcess(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	d.cfg.TrackProcesses = append(d.cfg.TrackProcesses, TrackProcess{Name: name, Pos: n.name.pos, Quorum: 1})
	d.block(n.children, trackProcessHandlers, nil, nil)
	p := d.curTrackProcess()
	if p.Process == "" {
		d.warnf(n.end, "no process set for track_process %s, removing", name)
		d.cfg.TrackProcesses = d.cfg.TrackProcesses[:len(d.cfg.TrackProcesses)-1]
		return
	}
	if p.QuorumMax != 0 && p.QuorumMax < p.Quorum {
		d.warnf(n.end, "track_process %s: quorum_max %d is less than quorum %d, ignoring quorum_max", name, p.QuorumMax, p.Quorum)
		p.QuorumMax = 0
	}
}

// syncGroupHandlers work on the last sync group.
var syncGroupHandlers = map[string]handler{
	"group": func(d *decoder, n *node) {
		g := d.curSG()
		names := d.names(n)
		if n.block && len(names) == 0 {
			d.warnf(n.name.pos, "sync group %s has empty group block", g.Name)
		}
		d.sgHasGroup[len(d.cfg.SyncGroups)-1] = true
		g.Group = append(g.Group, names...)
	},
	"track_interface":         trackHandler(253, func(d *decoder) *[]Track { return &d.curSG().TrackInterfaces }),
	"track_script":            trackHandler(253, func(d *decoder) *[]Track { return &d.curSG().TrackScripts }),
	"track_file":              trackHandler(254, func(d *decoder) *[]Track { return &d.curSG().TrackFiles }),
	"track_process":           trackHandler(254, func(d *decoder) *[]Track { return &d.curSG().TrackProcesses }),
	"track_bfd":               trackHandler(253, func(d *decoder) *[]Track { return &d.curSG().TrackBFDs }),
	"notify_master":           func(d *decoder, n *node) { d.notify(n, &d.curSG().NotifyMaster) },
	"notify_backup":           func(d *decoder, n *node) { d.notify(n, &d.curSG().NotifyBackup) },
	"notify_fault":            func(d *decoder, n *node) { d.notify(n, &d.curSG().NotifyFault) },
	"notify_stop":             func(d *decoder, n *node) { d.notify(n, &d.curSG().NotifyStop) },
	"notify":                  func(d *decoder, n *node) { d.notify(n, &d.curSG().Notify) },
	"notify_priority_changes": func(d *decoder, n *node) { d.setFlag(n, &d.curSG().NotifyPriorityChanges) },
	"smtp_alert":              func(d *decoder, n *node) { d.setFlagPtr(n, &d.curSG().SMTPAlert) },
	"global_tracking": func(d *decoder, n *node) {
		d.warnf(n.name.pos, "(%s) global_tracking is deprecated, use track_interface/script/file on the sync group", d.curSG().Name)
		d.setFlag(n, &d.curSG().GlobalTracking)
	},
	"sync_group_tracking_weight": func(d *decoder, n *node) { d.setFlag(n, &d.curSG().SyncGroupTrackingWeight) },
}

func (d *decoder) curSG() *SyncGroup { return &d.cfg.SyncGroups[len(d.cfg.SyncGroups)-1] }

func (d *decoder) syncGroup(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	for _, g := range d.cfg.SyncGroups {
		if g.Name == name {
			d.warnf(n.name.pos, "vrrp sync group %s already defined, ignoring", name)
			return
		}
	}
	d.cfg.SyncGroups = append(d.cfg.SyncGroups, SyncGroup{Name: name, Pos: n.name.pos})
	d.sgHasGroup = append(d.sgHasGroup, false)
	d.block(n.children, syncGroupHandlers, sgKnown, nil)
}

var sgKnown = keywords("notify_deleted")

func (d *decoder) bfdInstance(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	b := BFDInstance{Name: name, Pos: n.name.pos, MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
		IdleTx: time.Second, Multiplier: 5}
	// intervals are decimal milliseconds with microsecond resolution
	ms := func(lo int64) handler {
		return func(d *decoder, n *node) {
			t, ok := d.arg(n, 0, "milliseconds")
			if !ok {
				return
			}
			v, ok := parseTimer(t.text) // as if seconds, then scaled
			v /= 1000
			if !ok || v < time.Duration(lo)*time.Millisecond || v > 4294967*time.Millisecond {
				d.warnf(t.pos, "%s: number '%s' outside range [%d, 4294967] (milliseconds)", n.name.text, t.text, lo)
				return
			}
			switch n.name.text {
			case "min_rx":
				b.MinRx = v
			case "min_tx":
				b.MinTx = v
			default:
				b.IdleTx = v
			}
		}
	}
	ttlSet := false
	h := map[string]handler{
		"neighbor_ip":  func(d *decoder, n *node) { d.addr(n, &b.NeighborIP) },
		"neighbour_ip": func(d *decoder, n *node) { d.addr(n, &b.NeighborIP) },
		"source_ip":    func(d *decoder, n *node) { d.addr(n, &b.SourceIP) },
		"min_rx":       ms(1),
		"min_tx":       ms(1),
		"idle_tx":      ms(1000),
		"multiplier":   func(d *decoder, n *node) { d.int(n, 1, 255, &b.Multiplier) },
		"passive":      func(d *decoder, n *node) { d.setFlag(n, &b.Passive) },
		"ttl":          func(d *decoder, n *node) { ttlSet = d.int(n, 1, 255, &b.TTL) || ttlSet },
		"hoplimit":     func(d *decoder, n *node) { ttlSet = d.int(n, 1, 255, &b.TTL) || ttlSet },
		"max_hops":     func(d *decoder, n *node) { d.int(n, -1, 255, &b.MaxHops) },
		"weight":       func(d *decoder, n *node) { d.weight(n, -253, 253, &b.Weight, &b.Reverse) },
		"vrrp":         func(d *decoder, n *node) { b.VRRP = true },
		"checker":      func(d *decoder, n *node) { b.Checker = true },
	}
	d.block(n.children, h, nil, nil)
	if !b.NeighborIP.IsValid() {
		d.warnf(n.end, "bfd_instance %s: no neighbor_ip set, removing", name)
		return
	}
	if b.SourceIP.IsValid() && b.SourceIP.Is4() != b.NeighborIP.Is4() {
		d.warnf(n.end, "bfd_instance %s: source_ip and neighbor_ip address families differ, ignoring source_ip", name)
		b.SourceIP = netip.Addr{}
	}
	if !ttlSet {
		b.TTL = 255 // IPv4 ttl
		if b.NeighborIP.Is6() {
			b.TTL = 64 // IPv6 hoplimit
		}
	}
	if !b.VRRP && !b.Checker {
		b.VRRP, b.Checker = true, true
	}
	for _, o := range d.cfg.BFDInstances {
		if o.Name == name {
			d.warnf(n.name.pos, "bfd_instance %s: duplicate name, ignoring", name)
			return
		}
	}
	d.cfg.BFDInstances = append(d.cfg.BFDInstances, b)
}

// seconds reads a whole number of seconds; 0 is replaced by 1 as keepalived
// does for script intervals and timeouts.
func (d *decoder) seconds(n *node, dst *time.Duration) {
	var v int
	if !d.int(n, 0, 1<<31-1, &v) {
		return
	}
	if v == 0 {
		d.warnf(n.args[0].pos, "%s must be greater than 0, setting to 1", n.name.text)
		v = 1
	}
	*dst = time.Duration(v) * time.Second
}

// repeat reads a count that keepalived sets to 1 when given 0.
func (d *decoder) repeat(n *node, dst *int) {
	var v int
	if !d.int(n, 0, 1<<31-1, &v) {
		return
	}
	if v == 0 {
		d.warnf(n.args[0].pos, "%s must be greater than 0, setting to 1", n.name.text)
		v = 1
	}
	*dst = v
}
