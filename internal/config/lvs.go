package config

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (d *decoder) vsGroup(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	g := VirtualServerGroup{Name: name, Pos: n.name.pos}
	for _, c := range n.children {
		if c.name.text == "fwmark" {
			var e VSGEntry
			if len(c.args) == 0 {
				d.p.errorf(c.name.pos, "fwmark: missing parameter, expected fwmark MARK [inet|inet6]")
				continue
			}
			t := c.args[0]
			v, ok := d.intTok(t, "fwmark", 1, 4294967295)
			if !ok {
				continue
			}
			e.FWMark = uint32(v)
			if len(c.args) > 1 {
				if f := c.args[1].text; f == "inet" || f == "inet6" {
					e.Family = f
				} else {
					d.warnf(c.args[1].pos, "fwmark: unknown family %q, expected inet or inet6", f)
				}
			}
			g.Entries = append(g.Entries, e)
			continue
		}
		e, ok := d.vsgRange(c)
		if ok {
			g.Entries = append(g.Entries, e)
		}
	}
	d.cfg.VirtualServerGroups = append(d.cfg.VirtualServerGroups, g)
}

// vsgRange reads "ADDR[-LAST] [PORT]"; LAST replaces the last byte (IPv4)
// or the last 16-bit group (IPv6) of ADDR.
func (d *decoder) vsgRange(c *node) (VSGEntry, bool) {
	var e VSGEntry
	s := c.name.text
	first, last, isRange := strings.Cut(s, "-")
	a, err := netip.ParseAddr(first)
	if err != nil {
		d.warnf(c.name.pos, "virtual_server_group: invalid address %q, expected ADDRESS[-LAST] [PORT]", s)
		return e, false
	}
	e.First, e.Last = a, a
	if isRange {
		base := 10
		max := uint64(255)
		if a.Is6() {
			base, max = 16, 0xffff
		}
		v, err := strconv.ParseUint(last, base, 32)
		if err != nil || v > max {
			d.warnf(c.name.pos, "virtual_server_group: invalid range end %q", last)
			return e, false
		}
		b := a.AsSlice()
		if a.Is4() {
			if byte(v) < b[3] {
				d.warnf(c.name.pos, "virtual_server_group: range end %s is below the start", last)
				return e, false
			}
			b[3] = byte(v)
		} else {
			cur := uint64(b[14])<<8 | uint64(b[15])
			if v < cur {
				d.warnf(c.name.pos, "virtual_server_group: range end %s is below the start", last)
				return e, false
			}
			b[14], b[15] = byte(v>>8), byte(v)
		}
		e.Last, _ = netip.AddrFromSlice(b)
	}
	if len(c.args) > 0 {
		p, ok := d.port(c.args[0], "virtual_server_group port")
		if !ok {
			return e, false
		}
		e.Port = p
	}
	return e, true
}

func (d *decoder) curVS() *VirtualServer { return &d.cfg.VirtualServers[len(d.cfg.VirtualServers)-1] }

var vsKnown = keywords(`snmp_name lvs_sched_flags`)

var vsHandlers = newVSHandlers()

// newVSHandlers returns the handlers of the keywords of the block.
func newVSHandlers() map[string]handler {
	sched := func(d *decoder, n *node) {
		if t, ok := d.arg(n, 0, "a scheduler"); ok {
			switch t.text {
			case "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos":
				d.curVS().Scheduler = t.text
			default:
				d.warnf(t.pos, "unknown scheduler %q, expected rr|wrr|lc|wlc|lblc|sh|mh|dh|fo|ovf|lblcr|sed|nq|twos", t.text)
			}
		}
	}
	method := func(d *decoder, n *node) {
		vs := d.curVS()
		if m, tun, ok := d.method(n); ok {
			vs.Method, vs.TunnelType = m, tun
		}
	}
	flag := func(name string) handler {
		return func(d *decoder, n *node) { d.curVS().Flags = append(d.curVS().Flags, name) }
	}
	m := map[string]handler{
		"lvs_sched":  sched,
		"lb_algo":    sched,
		"lvs_method": method,
		"lb_kind":    method,
		"protocol": func(d *decoder, n *node) {
			if t, ok := d.arg(n, 0, "TCP, UDP or SCTP"); ok {
				switch strings.ToUpper(t.text) {
				case "TCP", "UDP", "SCTP":
					d.curVS().Protocol = strings.ToUpper(t.text)
				default:
					d.warnf(t.pos, "unknown protocol %q, expected TCP, UDP or SCTP", t.text)
				}
			}
		},
		"persistence_timeout": func(d *decoder, n *node) {
			vs := d.curVS()
			vs.Persistence = true
			if len(n.args) == 0 {
				vs.PersistenceTimeout = 360 * time.Second
				return
			}
			d.timer(n, time.Second, 2678400*time.Second, &vs.PersistenceTimeout)
		},
		"persistence_granularity": func(d *decoder, n *node) { d.str(n, &d.curVS().PersistenceGranularity) },
		"persistence_engine":      func(d *decoder, n *node) { d.str(n, &d.curVS().PersistenceEngine) },
		"ha_suspend":              func(d *decoder, n *node) { d.setFlag(n, &d.curVS().HASuspend) },
		"virtualhost":             func(d *decoder, n *node) { d.str(n, &d.curVS().VirtualHost) },
		"alpha":                   func(d *decoder, n *node) { d.setFlag(n, &d.curVS().Alpha) },
		"omega":                   func(d *decoder, n *node) { d.setFlag(n, &d.curVS().Omega) },
		"quorum":                  func(d *decoder, n *node) { d.int(n, 1, 1<<31-1, &d.curVS().Quorum) },
		"hysteresis":              func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curVS().Hysteresis) },
		"quorum_up":               func(d *decoder, n *node) { d.notify(n, &d.curVS().QuorumUp) },
		"quorum_down":             func(d *decoder, n *node) { d.notify(n, &d.curVS().QuorumDown) },
		"ip_family": func(d *decoder, n *node) {
			if t, ok := d.arg(n, 0, "inet or inet6"); ok {
				if t.text != "inet" && t.text != "inet6" {
					d.warnf(t.pos, "ip_family: unknown family %q, expected inet or inet6", t.text)
					return
				}
				d.curVS().IPFamily = t.text
			}
		},
		"sorry_server": func(d *decoder, n *node) {
			vs := d.curVS()
			rs, ok := d.rsHead(n)
			if ok {
				rs.Method = ""
				vs.SorryServer = &rs
			}
		},
		"sorry_server_inhibit": func(d *decoder, n *node) { d.setFlag(n, &d.curVS().SorryServerInhibit) },
		"sorry_server_lvs_method": func(d *decoder, n *node) {
			vs := d.curVS()
			if vs.SorryServer == nil {
				d.warnf(n.name.pos, "sorry_server_lvs_method: no sorry_server set before it")
				return
			}
			if m, _, ok := d.method(n); ok {
				vs.SorryServer.Method = m
			}
		},
		"delay_loop":         func(d *decoder, n *node) { d.timer(n, time.Microsecond, maxTimer, &d.curVS().DelayLoop) },
		"connect_timeout":    func(d *decoder, n *node) { d.timer(n, time.Microsecond, maxTimer, &d.curVS().ConnectTimeout) },
		"retry":              func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curVS().Retry) },
		"nb_get_retry":       func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curVS().Retry) },
		"delay_before_retry": func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curVS().DelayBeforeRetry) },
		"warmup":             func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curVS().Warmup) },
		"inhibit_on_failure": func(d *decoder, n *node) { d.setFlag(n, &d.curVS().InhibitOnFailure) },
		"smtp_alert":         func(d *decoder, n *node) { d.setFlagPtr(n, &d.curVS().SMTPAlert) },
		"real_server":        (*decoder).realServer,
	}
	for _, f := range []string{"flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "ops", "one-packet"} {
		name := f
		if name == "one-packet" {
			name = "ops"
		}
		m[f] = flag(name)
	}
	return m
}

// method reads "NAT|DR|TUN [type ...]" (also the old DR/NAT/TUN spellings).
func (d *decoder) method(n *node) (string, string, bool) {
	t, ok := d.arg(n, 0, "NAT, DR or TUN")
	if !ok {
		return "", "", false
	}
	m := strings.ToUpper(t.text)
	switch m {
	case "NAT", "DR", "TUN":
	case "MASQ":
		m = "NAT"
	default:
		d.warnf(t.pos, "%s: unknown method %q, expected NAT, DR or TUN", n.name.text, t.text)
		return "", "", false
	}
	tun := ""
	if m == "TUN" && len(n.args) > 2 && n.args[1].text == "type" {
		tun = strings.Join(n.argStrings()[2:], " ")
	}
	return m, tun, true
}

func (d *decoder) virtualServer(n *node) {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "virtual_server: expected a block")
		return
	}
	vs := VirtualServer{Pos: n.name.pos, DelayBeforeRetry: -1, Warmup: -1}
	// a virtual server whose address cannot be read is dropped whole
	drop := func() {
		d.p.problemf(DroppedObject, n.name.pos, "virtual_server: cannot read its address, dropping the virtual server and its real servers")
	}
	t, ok := d.arg(n, 0, "ADDRESS [PORT], fwmark N or group NAME")
	if !ok {
		drop()
		return
	}
	switch t.text {
	case "fwmark":
		m, ok := d.arg(n, 1, "a firewall mark")
		if !ok {
			drop()
			return
		}
		v, ok := d.intTok(m, "virtual_server fwmark", 1, 4294967295)
		if !ok {
			drop()
			return
		}
		vs.FWMark = uint32(v)
	case "group":
		g, ok := d.arg(n, 1, "a virtual_server_group name")
		if !ok {
			drop()
			return
		}
		vs.Group = g.text
	default:
		a, ok := d.addrTok(t, "virtual_server")
		if !ok {
			drop()
			return
		}
		vs.Addr = a
		if len(n.args) > 1 {
			p, ok := d.port(n.args[1], "virtual_server port")
			if !ok {
				drop()
				return
			}
			vs.Port = p
		}
	}
	d.cfg.VirtualServers = append(d.cfg.VirtualServers, vs)
	d.block(n.children, vsHandlers, vsKnown, &d.curVS().Other)
	d.finishVS(d.curVS(), n)
	if v := d.curVS(); len(v.RealServers) == 0 && v.SorryServer == nil {
		d.warnf(n.name.pos, "virtual server %s has no real servers, ignoring", v)
		d.cfg.VirtualServers = d.cfg.VirtualServers[:len(d.cfg.VirtualServers)-1]
	}
}

func (d *decoder) finishVS(vs *VirtualServer, n *node) {
	name := vs.String()
	if vs.Scheduler == "" {
		d.warnf(n.name.pos, "virtual server %s: no scheduler set, setting default 'wlc'", name)
		vs.Scheduler = "wlc"
	}
	if vs.Method == "" {
		d.warnf(n.name.pos, "virtual server %s: no forwarding method set, setting default NAT", name)
		vs.Method = "NAT"
	}
	switch {
	case vs.FWMark != 0:
		if vs.Protocol != "" {
			d.warnf(n.name.pos, "virtual server %s: protocol specified for fwmark, protocol will be ignored", name)
			vs.Protocol = ""
		}
	case vs.Protocol == "":
		// keepalived's default, with a warning
		d.warnf(n.name.pos, "virtual server %s: no protocol set, defaulting to UDP", name)
		vs.Protocol = "UDP"
	}
	if vs.Quorum == 0 {
		vs.Quorum = 1
	}
	if vs.DelayLoop == 0 {
		vs.DelayLoop = 60 * time.Second
	}
	if vs.ConnectTimeout == 0 {
		vs.ConnectTimeout = 5 * time.Second
	}
	if vs.Retry == 0 && !d.seenIn(n, "retry", "nb_get_retry") {
		vs.Retry = 1
	}
	if vs.Addr.IsValid() && vs.Port == 0 && !vs.Persistence {
		d.warnf(n.name.pos, "virtual server %s: zero port only valid for persistent services, setting persistence", name)
		vs.Persistence = true
		vs.PersistenceTimeout = 360 * time.Second
	}
	if vs.Hysteresis >= vs.Quorum && vs.Hysteresis > 0 {
		d.warnf(n.name.pos, "virtual server: hysteresis %d >= quorum %d, setting hysteresis to %d", vs.Hysteresis, vs.Quorum, vs.Quorum-1)
		vs.Hysteresis = vs.Quorum - 1
	}
	kept := vs.RealServers[:0]
	for _, rs := range vs.RealServers {
		inheritRS(&rs, vs)
		if vs.Addr.IsValid() && rs.Addr.Is4() != vs.Addr.Is4() && rs.Method != "TUN" {
			d.warnf(rs.Pos, "address family of virtual server and real server %s don't match, skipping real server", rs.Addr)
			continue
		}
		if vs.FWMark != 0 && rs.Port != 0 {
			d.warnf(rs.Pos, "fwmark virtual server %s, real server %s has port specified, clearing", name, rs.Addr)
			rs.Port = 0
		}
		if slices.ContainsFunc(kept, func(k RealServer) bool { return k.Addr == rs.Addr && k.Port == rs.Port }) {
			d.warnf(rs.Pos, "virtual server %s: real server %s is duplicated, removing second rs", name, netip.AddrPortFrom(rs.Addr, rs.Port))
			continue
		}
		kept = append(kept, rs)
	}
	vs.RealServers = kept
	if vs.DelayBeforeRetry < 0 {
		vs.DelayBeforeRetry = time.Second
	}
	if vs.Warmup < 0 {
		vs.Warmup = vs.DelayLoop
	}
	if s := vs.SorryServer; s != nil {
		if s.Method == "" {
			s.Method = vs.Method
		}
		if vs.Addr.IsValid() && s.Addr.Is4() != vs.Addr.Is4() && s.Method != "TUN" {
			d.warnf(s.Pos, "address family of virtual server and sorry server %s don't match, skipping sorry server", s.Addr)
			vs.SorryServer = nil
		}
	}
}

// String names the virtual server as keepalived's messages do:
// [addr]:port, FWM n or [group].
func (vs *VirtualServer) String() string {
	switch {
	case vs.FWMark != 0:
		return fmt.Sprintf("FWM %d", vs.FWMark)
	case vs.Group != "":
		return "[" + vs.Group + "]"
	default:
		return netip.AddrPortFrom(vs.Addr, vs.Port).String()
	}
}

func (d *decoder) seenIn(n *node, kws ...string) bool {
	for _, c := range n.children {
		for _, k := range kws {
			if c.name.text == k {
				return true
			}
		}
	}
	return false
}

func inheritRS(rs *RealServer, vs *VirtualServer) {
	if rs.Port == 0 && vs.FWMark == 0 && vs.Addr.IsValid() {
		rs.Port = vs.Port // the port of the virtual service
	}
	if rs.Method == "" {
		rs.Method = vs.Method
	}
	if rs.DelayLoop == 0 {
		rs.DelayLoop = vs.DelayLoop
	}
	if rs.ConnectTimeout == 0 {
		rs.ConnectTimeout = vs.ConnectTimeout
	}
	if rs.Retry < 0 {
		rs.Retry = vs.Retry
	}
	if rs.DelayBeforeRetry < 0 {
		rs.DelayBeforeRetry = vs.DelayBeforeRetry
	}
	if rs.Warmup < 0 {
		rs.Warmup = vs.Warmup
	}
	if !rs.InhibitOnFailure {
		rs.InhibitOnFailure = vs.InhibitOnFailure
	}
	if rs.Alpha == nil {
		a := vs.Alpha
		rs.Alpha = &a
	}
	if rs.VirtualHost == "" {
		rs.VirtualHost = vs.VirtualHost
	}
	for i := range rs.Checkers {
		c := &rs.Checkers[i]
		if c.DelayLoop == 0 {
			c.DelayLoop = rs.DelayLoop
		}
		if c.ConnectTimeout == 0 {
			c.ConnectTimeout = rs.ConnectTimeout
		}
		if c.Retry < 0 {
			c.Retry = rs.Retry
		}
		if c.DelayBeforeRetry < 0 {
			c.DelayBeforeRetry = rs.DelayBeforeRetry
		}
		if c.Warmup < 0 {
			c.Warmup = rs.Warmup
		}
		if c.Warmup < 0 {
			// keepalived: enabled by default, at most delay_loop
			c.Warmup = c.DelayLoop
		}
		if c.DelayBeforeRetry < 0 {
			switch c.Kind {
			case DNSCheck:
				c.DelayBeforeRetry = c.DelayLoop
			case HTTPGet, SSLGet:
				c.DelayBeforeRetry = 3 * time.Second
			default:
				c.DelayBeforeRetry = time.Second
			}
		}
		if c.Alpha == nil {
			a := *rs.Alpha
			c.Alpha = &a
		}
		if (c.Kind == HTTPGet || c.Kind == SSLGet) && c.VirtualHost == "" {
			c.VirtualHost = rs.VirtualHost
		}
		if !c.ConnectIP.IsValid() && c.Kind != MiscCheck && c.Kind != FileCheck && c.Kind != BFDCheck {
			c.ConnectIP = rs.Addr
		}
		if c.ConnectPort == 0 {
			switch c.Kind {
			case SMTPCheck:
				c.ConnectPort = 25
			case DNSCheck:
				c.ConnectPort = 53
			case TCPCheck, HTTPGet, SSLGet, UDPCheck:
				c.ConnectPort = rs.Port
			}
		}
	}
	if rs.DelayBeforeRetry < 0 {
		rs.DelayBeforeRetry = time.Second
	}
	if rs.Warmup < 0 {
		rs.Warmup = rs.DelayLoop
	}
}

// rsHead reads "ADDRESS [PORT]" of a real or sorry server.
func (d *decoder) rsHead(n *node) (RealServer, bool) {
	rs := RealServer{Pos: n.name.pos, Weight: 1, Retry: -1, DelayBeforeRetry: -1, Warmup: -1}
	t, ok := d.arg(n, 0, "ADDRESS [PORT]")
	if !ok {
		return rs, false
	}
	a, ok := d.addrTok(t, n.name.text)
	if !ok {
		return rs, false
	}
	rs.Addr = a
	if len(n.args) > 1 {
		p, ok := d.port(n.args[1], n.name.text+" port")
		if !ok {
			return rs, false
		}
		rs.Port = p
	}
	return rs, true
}

func (d *decoder) curRS() *RealServer {
	vs := d.curVS()
	return &vs.RealServers[len(vs.RealServers)-1]
}

var rsHandlers = newRSHandlers()

var rsKnown = keywords("snmp_name")

// newRSHandlers returns the handlers of the keywords of the block.
func newRSHandlers() map[string]handler {
	m := map[string]handler{
		"weight": func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curRS().Weight) },
		"lvs_method": func(d *decoder, n *node) {
			if m, _, ok := d.method(n); ok {
				d.curRS().Method = m
			}
		},
		"notify_up":          func(d *decoder, n *node) { d.notify(n, &d.curRS().NotifyUp) },
		"notify_down":        func(d *decoder, n *node) { d.notify(n, &d.curRS().NotifyDown) },
		"uthreshold":         func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curRS().UThreshold) },
		"lthreshold":         func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curRS().LThreshold) },
		"smtp_alert":         func(d *decoder, n *node) { d.setFlagPtr(n, &d.curRS().SMTPAlert) },
		"virtualhost":        func(d *decoder, n *node) { d.str(n, &d.curRS().VirtualHost) },
		"alpha":              func(d *decoder, n *node) { d.setFlagPtr(n, &d.curRS().Alpha) },
		"inhibit_on_failure": func(d *decoder, n *node) { d.setFlag(n, &d.curRS().InhibitOnFailure) },
		"delay_loop":         func(d *decoder, n *node) { d.timer(n, time.Microsecond, maxTimer, &d.curRS().DelayLoop) },
		"connect_timeout":    func(d *decoder, n *node) { d.timer(n, time.Microsecond, maxTimer, &d.curRS().ConnectTimeout) },
		"retry":              func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curRS().Retry) },
		"nb_get_retry":       func(d *decoder, n *node) { d.int(n, 0, 1<<31-1, &d.curRS().Retry) },
		"delay_before_retry": func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curRS().DelayBeforeRetry) },
		"warmup":             func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &d.curRS().Warmup) },
	}
	for _, k := range []CheckerKind{TCPCheck, HTTPGet, SSLGet, SMTPCheck, DNSCheck, UDPCheck,
		PingCheck, MiscCheck, FileCheck, BFDCheck} {
		m[string(k)] = (*decoder).checker
	}
	return m
}

func (d *decoder) realServer(n *node) {
	rs, ok := d.rsHead(n)
	if !ok {
		d.p.problemf(DroppedObject, n.name.pos, "real_server: cannot read its address, dropping the real server")
		return
	}
	vs := d.curVS()
	vs.RealServers = append(vs.RealServers, rs)
	if !n.block {
		return
	}
	d.block(n.children, rsHandlers, rsKnown, &d.curRS().Other)
}

func newChecker(kind CheckerKind, pos Pos) Checker {
	c := Checker{Kind: kind, Pos: pos, Retry: -1, DelayBeforeRetry: -1, Warmup: -1}
	switch kind {
	case DNSCheck:
		c.DNSType, c.DNSName = "SOA", "."
	case UDPCheck:
		c.MaxReplyLength = 255
	case FileCheck:
		c.Weight = 1
	}
	return c
}

func (d *decoder) checker(n *node) {
	kind := CheckerKind(n.name.text)
	c := newChecker(kind, n.name.pos)
	d.smtpHosts = d.smtpHosts[:0]
	if n.block {
		d.checkerBody(&c, n.children)
	}
	switch kind {
	case MiscCheck:
		if c.MiscPath == "" {
			d.warnf(n.name.pos, "MISC_CHECK: no misc_path set, removing checker")
			return
		}
	case FileCheck:
		// keepalived resolves the reference while reading: the track_file
		// must be defined before the checker.
		if c.TrackFile != "" && !slices.ContainsFunc(d.cfg.TrackFiles, func(f TrackFile) bool { return f.Name == c.TrackFile }) {
			d.warnf(n.name.pos, "FILE_CHECK: track_file %s not found (it must be defined before use)", c.TrackFile)
			c.TrackFile = ""
		}
		if c.TrackFile == "" {
			d.warnf(n.name.pos, "FILE_CHECK: no track_file set, removing checker")
			return
		}
	case BFDCheck:
		if c.BFDName == "" {
			d.warnf(n.name.pos, "BFD_CHECK: no name set, removing checker")
			return
		}
		if !slices.ContainsFunc(d.cfg.BFDInstances, func(b BFDInstance) bool { return b.Name == c.BFDName && b.Checker }) {
			d.warnf(n.name.pos, "BFD_CHECK: bfd_instance %s not configured for the checker, removing checker", c.BFDName)
			return
		}
	case HTTPGet, SSLGet:
		if len(c.URLs) == 0 {
			d.warnf(n.name.pos, "%s: no url set, removing checker", kind)
			return
		}
	}
	rs := d.curRS()
	if len(d.smtpHosts) == 0 {
		rs.Checkers = append(rs.Checkers, c)
		return
	}
	// The legacy host { } sub-blocks of SMTP_CHECK: each host is checked
	// instead of the real server's address, as its own checker.
	for _, h := range d.smtpHosts {
		hc := c
		hc.Pos = h.Pos
		if h.ConnectIP.IsValid() {
			hc.ConnectIP = h.ConnectIP
		}
		if h.ConnectPort != 0 {
			hc.ConnectPort = h.ConnectPort
		}
		if h.BindTo.IsValid() {
			hc.BindTo = h.BindTo
		}
		if h.BindIf != "" {
			hc.BindIf = h.BindIf
		}
		rs.Checkers = append(rs.Checkers, hc)
	}
}

func (d *decoder) checkerBody(c *Checker, children []*node) {
	for _, n := range children {
		kw := n.name.text
		switch kw {
		case "connect_ip":
			d.addr(n, &c.ConnectIP)
		case "connect_port":
			if t, ok := d.arg(n, 0, "a port"); ok {
				if p, ok := d.port(t, kw); ok {
					c.ConnectPort = p
				}
			}
		case "bindto", "bind_to":
			d.addr(n, &c.BindTo)
		case "bind_if":
			d.str(n, &c.BindIf)
		case "bind_port":
			if t, ok := d.arg(n, 0, "a port"); ok {
				if p, ok := d.port(t, kw); ok {
					c.BindPort = p
				}
			}
		case "fwmark":
			var v int
			if d.int(n, 0, 1<<31-1, &v) {
				c.FWMark = uint32(v)
			}
		case "connect_timeout":
			d.timer(n, time.Microsecond, maxTimer, &c.ConnectTimeout)
		case "retry", "nb_get_retry", "nb_sock_retry":
			d.int(n, 0, 1<<31-1, &c.Retry)
		case "delay_before_retry":
			d.timer(n, 0, maxTimer, &c.DelayBeforeRetry)
		case "warmup":
			d.timer(n, 0, maxTimer, &c.Warmup)
		case "delay_loop":
			d.timer(n, time.Microsecond, maxTimer, &c.DelayLoop)
		case "alpha":
			d.setFlagPtr(n, &c.Alpha)
		case "log_all_failures":
			d.setFlagPtr(n, &c.LogAllFailures)
		default:
			if !d.checkerSpecific(c, n) {
				d.unknown(n)
			}
		}
	}
}

func (d *decoder) checkerSpecific(c *Checker, n *node) bool {
	kw := n.name.text
	switch c.Kind {
	case HTTPGet, SSLGet:
		switch kw {
		case "url":
			if u, ok := d.url(n); ok {
				c.URLs = append(c.URLs, u)
			}
		case "http_protocol":
			d.str(n, &c.HTTPProtocol)
		case "virtualhost":
			d.str(n, &c.VirtualHost)
		case "fast_recovery":
			d.setFlag(n, &c.FastRecovery)
		case "enable_sni":
			d.setFlag(n, &c.EnableSNI)
		case "tls_compliant":
		default:
			return false
		}
	case SMTPCheck:
		switch kw {
		case "helo_name":
			d.str(n, &c.HeloName)
		case "host":
			h := Checker{Kind: SMTPCheck, Pos: n.name.pos}
			for _, hc := range n.children {
				switch hc.name.text {
				case "connect_ip":
					d.addr(hc, &h.ConnectIP)
				case "connect_port":
					if t, ok := d.arg(hc, 0, "a port"); ok {
						if p, ok := d.port(t, "connect_port"); ok {
							h.ConnectPort = p
						}
					}
				case "bindto", "bind_to":
					d.addr(hc, &h.BindTo)
				case "bind_if":
					d.str(hc, &h.BindIf)
				default:
					d.unknown(hc)
				}
			}
			d.smtpHosts = append(d.smtpHosts, h)
		default:
			return false
		}
	case DNSCheck:
		switch kw {
		case "type":
			if t, ok := d.arg(n, 0, "a record type"); ok {
				ty := strings.ToUpper(t.text)
				switch ty {
				case "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA":
					c.DNSType = ty
				default:
					d.warnf(t.pos, "DNS_CHECK: unknown type %q, expected A, NS, CNAME, SOA, MX, TXT or AAAA", t.text)
				}
			}
		case "name":
			d.str(n, &c.DNSName)
		default:
			return false
		}
	case UDPCheck:
		switch kw {
		case "payload":
			if t, ok := d.arg(n, 0, "hex bytes"); ok {
				if b, ok := d.hexTok(t, kw); ok {
					c.Payload = b
				}
			}
		case "require_reply":
			c.RequireReply = true
			if len(n.args) > 0 {
				if b, ok := d.hexTok(n.args[0], kw); ok {
					c.ReplyData = b
				}
			}
		case "min_reply_length":
			d.int(n, 0, 65535, &c.MinReplyLength)
		case "max_reply_length":
			d.int(n, 0, 65535, &c.MaxReplyLength)
		default:
			return false
		}
	case MiscCheck:
		switch kw {
		case "misc_path":
			d.strJoin(n, &c.MiscPath)
		case "misc_timeout":
			d.timer(n, time.Second, maxTimer, &c.MiscTimeout)
		case "misc_dynamic":
			d.setFlag(n, &c.MiscDynamic)
		case "user":
			d.str(n, &c.User)
			if len(n.args) > 1 {
				c.Group = n.args[1].text
			}
		default:
			return false
		}
	case FileCheck:
		switch kw {
		case "track_file", "file":
			d.str(n, &c.TrackFile)
		case "dynamic":
			d.setFlag(n, &c.Dynamic)
		case "weight":
			d.weight(n, -2147483647, 2147483647, &c.Weight, &c.Reverse)
		default:
			return false
		}
	case BFDCheck:
		switch kw {
		case "name":
			d.str(n, &c.BFDName)
		case "weight":
			d.weight(n, -253, 253, &c.Weight, &c.Reverse)
		default:
			return false
		}
	default:
		return false
	}
	return true
}

func (d *decoder) hexTok(t token, kw string) ([]byte, bool) {
	s := strings.TrimPrefix(strings.TrimPrefix(t.text, "0x"), "0X")
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		d.warnf(t.pos, "%s: invalid hex string %q", kw, t.text)
		return nil, false
	}
	return b, true
}

func (d *decoder) url(n *node) (URL, bool) {
	var u URL
	for _, c := range n.children {
		switch c.name.text {
		case "path":
			d.str(c, &u.Path)
		case "digest":
			if t, ok := d.arg(c, 0, "an MD5 digest (32 hex digits)"); ok {
				if _, err := hex.DecodeString(t.text); err != nil || len(t.text) != 32 {
					d.warnf(t.pos, "digest: invalid MD5 digest %q, expected 32 hex digits", t.text)
					continue
				}
				u.Digest = strings.ToLower(t.text)
			}
		case "status_code":
			for _, a := range c.args {
				lo, hi, isRange := strings.Cut(a.text, "-")
				l, err1 := strconv.Atoi(lo)
				h := l
				var err2 error
				if isRange {
					h, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil || l < 100 || h > 999 || h < l {
					d.warnf(a.pos, "status_code: invalid code or range %q, expected N or N-M within [100, 999]", a.text)
					continue
				}
				u.StatusCodes = append(u.StatusCodes, StatusRange{l, h})
			}
		case "virtualhost":
			d.str(c, &u.VirtualHost)
		case "regex":
			d.str(c, &u.Regex)
		case "regex_no_match":
			d.setFlag(c, &u.RegexNoMatch)
		case "regex_options", "regex_stack", "regex_min_offset", "regex_max_offset":
		default:
			d.unknown(c)
		}
	}
	if u.Path == "" {
		d.warnf(n.name.pos, "url: no path set, expected path PATH; removing url")
		return u, false
	}
	if len(u.StatusCodes) == 0 {
		u.StatusCodes = []StatusRange{{200, 299}} // keepalived's default
	}
	return u, true
}
