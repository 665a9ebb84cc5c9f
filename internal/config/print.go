package config

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Format returns the canonical keepalived.conf text of c. Parsing the text
// gives a Config equal to c (positions aside). Every value is written out
// explicitly, including defaults.
func Format(c *Config) []byte {
	w := &printer{}
	w.config(c)
	return w.buf.Bytes()
}

// Print writes the canonical text of c to out.
func Print(out io.Writer, c *Config) error {
	_, err := out.Write(Format(c))
	return err
}

type printer struct {
	buf    bytes.Buffer
	indent int
}

// quote returns s as one keepalived word.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'#!{}\\$", c) >= 0 {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < ' ' || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (w *printer) line(words ...string) {
	for range w.indent {
		w.buf.WriteString("    ")
	}
	w.buf.WriteString(strings.Join(words, " "))
	w.buf.WriteByte('\n')
}

func (w *printer) open(words ...string) {
	w.line(append(words, "{")...)
	w.indent++
}

func (w *printer) close() {
	w.indent--
	w.line("}")
}

func (w *printer) str(kw, v string) {
	if v != "" {
		w.line(kw, quote(v))
	}
}

func (w *printer) flag(kw string, v bool) {
	if v {
		w.line(kw)
	}
}

func (w *printer) boolean(kw string, v bool) {
	w.line(kw, map[bool]string{true: "on", false: "off"}[v])
}

func (w *printer) boolPtr(kw string, v *bool) {
	if v != nil {
		w.boolean(kw, *v)
	}
}

func (w *printer) num(kw string, v int) { w.line(kw, strconv.Itoa(v)) }

// nz prints a number unless it is zero (an invalid value that means
// "default", or an optional setting left out).
func (w *printer) nz(kw string, v int) {
	if v != 0 {
		w.num(kw, v)
	}
}

// dnz prints a duration unless it is zero (as nz).
func (w *printer) dnz(kw string, v time.Duration) {
	if v != 0 {
		w.dur(kw, v)
	}
}

func (w *printer) dur(kw string, v time.Duration) { w.line(kw, fmtSeconds(v)) }

func (w *printer) addr(kw string, a netip.Addr) {
	if a.IsValid() {
		w.line(kw, a.String())
	}
}

func (w *printer) notify(kw string, n Notify) {
	if n.Script == "" {
		return
	}
	words := []string{kw, quote(n.Script)}
	if n.User != "" {
		words = append(words, quote(n.User))
		if n.Group != "" {
			words = append(words, quote(n.Group))
		}
	}
	w.line(words...)
}

// listBlock prints the block kw with one line for each item, unless there
// are no items.
func listBlock[T any](w *printer, kw string, items []T, words func(T) []string) {
	if len(items) == 0 {
		return
	}
	w.open(kw)
	for _, it := range items {
		w.line(words(it)...)
	}
	w.close()
}

// nameBlock prints the block kw with one quoted name a line, even when
// there are none.
func (w *printer) nameBlock(kw string, names []string) {
	w.open(kw)
	for _, n := range names {
		w.line(quote(n))
	}
	w.close()
}

func quoteWords(s string) []string { return []string{quote(s)} }

// addrPortWords returns "kw ADDRESS [PORT]" (no port when it is zero).
func addrPortWords(kw string, a netip.Addr, port uint16) []string {
	if port == 0 {
		return []string{kw, a.String()}
	}
	return []string{kw, a.String(), strconv.Itoa(int(port))}
}

func (w *printer) other(ds []Directive) {
	for _, d := range ds {
		words := []string{d.Keyword}
		for _, a := range d.Args {
			words = append(words, quote(a))
		}
		w.line(words...)
	}
}

func (w *printer) config(c *Config) {
	w.global(&c.Global)
	listBlock(w, "static_ipaddress", c.StaticAddresses, addressWords)
	listBlock(w, "static_routes", c.StaticRoutes, routeWords)
	listBlock(w, "static_rules", c.StaticRules, ruleWords)
	listBlock(w, "linkbeat_interfaces", c.LinkbeatInterfaces, func(l LinkbeatInterface) []string {
		if l.Type != "" {
			return []string{quote(l.Name), l.Type}
		}
		return quoteWords(l.Name)
	})
	listBlock(w, "interface_up_down_delays", c.InterfaceDelays, func(e InterfaceDelay) []string {
		return []string{quote(e.Name), fmtSeconds(e.Down), fmtSeconds(e.Up)}
	})
	for _, g := range c.TrackGroups {
		w.open("track_group", quote(g.Name))
		w.nameBlock("group", g.Group)
		w.close()
	}
	for _, g := range c.GarpGroups {
		w.open("garp_group")
		w.dur("garp_interval", g.GarpInterval)
		w.dur("gna_interval", g.GnaInterval)
		w.nameBlock("interfaces", g.Interfaces)
		w.close()
	}
	if s := c.SSL; s != nil {
		w.open("SSL")
		w.str("password", s.Password)
		w.str("ca", s.CA)
		w.str("certificate", s.Certificate)
		w.str("key", s.Key)
		w.close()
	}
	for _, b := range c.BFDInstances {
		w.bfd(&b)
	}
	for _, s := range c.Scripts {
		w.open("vrrp_script", quote(s.Name))
		w.str("script", s.Script)
		w.dnz("interval", s.Interval)
		w.dnz("timeout", s.Timeout)
		w.weight(s.Weight, s.Reverse)
		w.nz("rise", s.Rise)
		w.nz("fall", s.Fall)
		if s.User != "" {
			w.line(userWords("user", s.User, s.Group)...)
		}
		w.flag("init_fail", s.InitFail)
		w.close()
	}
	for _, f := range c.TrackFiles {
		w.open("track_file", quote(f.Name))
		w.str("file", f.File)
		w.weight(f.Weight, f.Reverse)
		if f.InitFile {
			words := []string{"init_file", strconv.Itoa(f.InitValue)}
			if f.Overwrite {
				words = append(words, "overwrite")
			}
			w.line(words...)
		}
		w.close()
	}
	for _, p := range c.TrackProcesses {
		w.open("track_process", quote(p.Name))
		words := []string{"process", quote(p.Process)}
		for _, a := range p.Params {
			words = append(words, quote(a))
		}
		w.line(words...)
		w.str("param_match", p.ParamMatch)
		w.weight(p.Weight, p.Reverse)
		w.nz("quorum", p.Quorum)
		w.nz("quorum_max", p.QuorumMax)
		w.dnz("fork_delay", p.ForkDelay)
		w.dnz("terminate_delay", p.TermDelay)
		w.dnz("delay", p.Delay)
		w.flag("full_command", p.FullCommand)
		w.close()
	}
	for _, i := range c.Instances {
		w.instance(&i)
	}
	for _, g := range c.SyncGroups {
		w.syncGroup(&g)
	}
	for _, g := range c.VirtualServerGroups {
		w.open("virtual_server_group", quote(g.Name))
		for _, e := range g.Entries {
			if e.FWMark != 0 {
				words := []string{"fwmark", strconv.FormatUint(uint64(e.FWMark), 10)}
				if e.Family != "" {
					words = append(words, e.Family)
				}
				w.line(words...)
				continue
			}
			a := e.First.String()
			if e.Last != e.First {
				b := e.Last.AsSlice()
				if e.Last.Is4() {
					a += "-" + strconv.Itoa(int(b[3]))
				} else {
					a += "-" + strconv.FormatUint(uint64(b[14])<<8|uint64(b[15]), 16)
				}
			}
			if e.Port != 0 {
				w.line(a, strconv.Itoa(int(e.Port)))
			} else {
				w.line(a)
			}
		}
		w.close()
	}
	for _, vs := range c.VirtualServers {
		w.virtualServer(&vs)
	}
}

func userWords(kw, user, group string) []string {
	words := []string{kw, quote(user)}
	if group != "" {
		words = append(words, quote(group))
	}
	return words
}

func (w *printer) weight(v int, rev bool) {
	if rev {
		w.line("weight", strconv.Itoa(v), "reverse")
	} else {
		w.num("weight", v)
	}
}

func (w *printer) global(g *Global) {
	if reflect.ValueOf(*g).IsZero() {
		return
	}
	w.open("global_defs")
	w.str("router_id", g.RouterID)
	listBlock(w, "notification_email", g.NotificationEmail, quoteWords)
	w.str("notification_email_from", g.NotificationEmailFrom)
	if g.SMTPServer != "" {
		w.line("smtp_server", quote(g.SMTPServer), strconv.Itoa(int(g.SMTPPort)))
	}
	w.str("smtp_helo_name", g.SMTPHeloName)
	w.dnz("smtp_connect_timeout", g.SMTPConnectTimeout)
	w.boolPtr("smtp_alert", g.SMTPAlert)
	w.boolPtr("smtp_alert_vrrp", g.SMTPAlertVRRP)
	w.boolPtr("smtp_alert_checker", g.SMTPAlertChecker)
	w.flag("no_email_faults", g.NoEmailFaults)
	w.str("default_interface", g.DefaultInterface)
	w.addr("vrrp_mcast_group4", g.VRRPMcastGroup4)
	w.addr("vrrp_mcast_group6", g.VRRPMcastGroup6)
	w.nz("vrrp_version", g.VRRPVersion)
	w.flag("vrrp_strict", g.VRRPStrict)
	w.flag("vrrp_skip_check_adv_addr", g.VRRPSkipCheckAdvAddr)
	w.flag("vrrp_check_unicast_src", g.VRRPCheckUnicastSrc)
	w.flag("vrrp_min_garp", g.VRRPMinGarp)
	w.dur("vrrp_garp_master_delay", g.VRRPGarpMasterDelay)
	w.nz("vrrp_garp_master_repeat", g.VRRPGarpMasterRepeat)
	w.dur("vrrp_garp_lower_prio_delay", g.VRRPGarpLowerPrioDelay)
	w.nz("vrrp_garp_lower_prio_repeat", g.VRRPGarpLowerPrioRepeat)
	w.dur("vrrp_garp_master_refresh", g.VRRPGarpMasterRefresh)
	w.nz("vrrp_garp_master_refresh_repeat", g.VRRPGarpMasterRefreshRepeat)
	w.dur("vrrp_garp_interval", g.VRRPGarpInterval)
	w.dur("vrrp_gna_interval", g.VRRPGnaInterval)
	w.boolPtr("vrrp_lower_prio_no_advert", g.VRRPLowerPrioNoAdvert)
	w.boolPtr("vrrp_higher_prio_send_advert", g.VRRPHigherPrioSendAdvert)
	w.nz("vrrp_down_timer_adverts", g.VRRPDownTimerAdverts)
	w.notify("vrrp_notify_fifo", g.VRRPNotifyFifo)
	w.notify("notify_fifo", g.NotifyFifo)
	if s := g.LVSSyncDaemon; s != nil {
		words := []string{"lvs_sync_daemon", quote(s.Interface)}
		if s.Instance != "" {
			words = append(words, "inst", quote(s.Instance))
		}
		if s.SyncID >= 0 {
			words = append(words, "id", strconv.Itoa(s.SyncID))
		}
		if s.MaxLen != 0 {
			words = append(words, "maxlen", strconv.Itoa(s.MaxLen))
		}
		if s.Port != 0 {
			words = append(words, "port", strconv.Itoa(int(s.Port)))
		}
		if s.TTL != 0 {
			words = append(words, "ttl", strconv.Itoa(s.TTL))
		}
		if s.Group.IsValid() {
			words = append(words, "group", s.Group.String())
		}
		w.line(words...)
	}
	w.flag("lvs_flush", g.LVSFlush)
	w.flag("enable_script_security", g.EnableScriptSecurity)
	if g.ScriptUser != "" {
		w.line(userWords("script_user", g.ScriptUser, g.ScriptGroup)...)
	}
	if g.MaxAutoPriority != nil {
		w.num("max_auto_priority", *g.MaxAutoPriority)
	}
	w.str("net_namespace", g.NetNamespace)
	w.str("instance", g.Instance)
	if g.RandomSeed != nil {
		w.line("random_seed", strconv.FormatUint(*g.RandomSeed, 10))
	}
	w.other(g.Other)
	w.close()
}

func prefixString(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

func addressWords(a Address) []string {
	words := []string{prefixString(a.Prefix)}
	if a.Broadcast.IsValid() {
		words = append(words, "brd", a.Broadcast.String())
	}
	if a.Dev != "" {
		words = append(words, "dev", quote(a.Dev))
	}
	if a.Scope != "" {
		words = append(words, "scope", a.Scope)
	}
	if a.Label != "" {
		words = append(words, "label", quote(a.Label))
	}
	if a.Peer.IsValid() {
		words = append(words, "peer", a.Peer.String())
	}
	if a.Preferred != "" {
		words = append(words, "preferred_lft", quote(a.Preferred))
	}
	if a.TrackGroup != "" {
		words = append(words, "track_group", quote(a.TrackGroup))
	}
	return append(words, a.Flags...)
}

func routeWords(r Route) []string {
	var words []string
	if r.Type != "" {
		words = append(words, r.Type)
	}
	if r.Src.IsValid() {
		words = append(words, "src", r.Src.String())
	}
	words = append(words, "to", r.To.String())
	if r.From.IsValid() {
		words = append(words, "from", r.From.String())
	}
	if r.Via.IsValid() {
		words = append(words, "via", r.Via.String())
	}
	if r.Dev != "" {
		words = append(words, "dev", quote(r.Dev))
	}
	if r.Table != "" {
		words = append(words, "table", quote(r.Table))
	}
	if r.Metric != nil {
		words = append(words, "metric", strconv.FormatUint(uint64(*r.Metric), 10))
	}
	if r.Scope != "" {
		words = append(words, "scope", r.Scope)
	}
	if r.Protocol != "" {
		words = append(words, "proto", quote(r.Protocol))
	}
	for _, o := range r.Options {
		words = append(words, quote(o))
	}
	if r.NoTrack {
		words = append(words, "no_track")
	}
	for _, nh := range r.Nexthops {
		words = append(words, "nexthop")
		if nh.Via.IsValid() {
			words = append(words, "via", nh.Via.String())
		}
		if nh.Dev != "" {
			words = append(words, "dev", quote(nh.Dev))
		}
		if nh.Weight != 0 {
			words = append(words, "weight", strconv.Itoa(nh.Weight))
		}
		if nh.Onlink {
			words = append(words, "onlink")
		}
	}
	return words
}

func ruleWords(r Rule) []string {
	var words []string
	if r.From.IsValid() {
		words = append(words, "from", r.From.String())
	}
	if r.To.IsValid() {
		words = append(words, "to", r.To.String())
	}
	if r.Table != "" {
		words = append(words, "table", quote(r.Table))
	}
	if r.Preference != nil {
		words = append(words, "preference", strconv.FormatUint(uint64(*r.Preference), 10))
	}
	for _, o := range r.Options {
		words = append(words, quote(o))
	}
	if r.NoTrack {
		words = append(words, "no_track")
	}
	if len(words) == 0 {
		words = append(words, "from", "all")
	}
	return words
}

func trackWords(t Track) []string {
	words := []string{quote(t.Name)}
	if t.Weighted {
		words = append(words, "weight", strconv.Itoa(t.Weight))
	}
	if t.Reverse {
		words = append(words, "reverse")
	}
	return words
}

func unicastPeerWords(p UnicastPeer) []string {
	words := []string{p.Addr.String()}
	if p.MinTTL != 0 {
		words = append(words, "min_ttl", strconv.Itoa(p.MinTTL))
	}
	if p.MaxTTL != 255 {
		words = append(words, "max_ttl", strconv.Itoa(p.MaxTTL))
	}
	return words
}

func (w *printer) tracks(kw string, ts []Track) { listBlock(w, kw, ts, trackWords) }

func (w *printer) addresses(kw string, as []Address) { listBlock(w, kw, as, addressWords) }

func (w *printer) instance(i *Instance) {
	w.open("vrrp_instance", quote(i.Name))
	w.str("state", i.State)
	w.str("interface", i.Interface)
	w.nz("virtual_router_id", i.VRID)
	w.nz("priority", i.Priority)
	w.dnz("advert_int", i.AdvertInt)
	w.nz("version", i.Version)
	if i.Auth != nil {
		w.open("authentication")
		w.str("auth_type", i.Auth.Type)
		w.str("auth_pass", i.Auth.Pass)
		w.close()
	}
	w.addresses("virtual_ipaddress", i.VirtualIPs)
	w.addresses("virtual_ipaddress_excluded", i.ExcludedVIPs)
	listBlock(w, "virtual_routes", i.VirtualRoutes, routeWords)
	listBlock(w, "virtual_rules", i.VirtualRules, ruleWords)
	if len(i.UnicastPeers) > 0 {
		w.addr("unicast_src_ip", i.SrcIP)
	} else {
		w.addr("mcast_src_ip", i.SrcIP)
	}
	w.addr("mcast_dst_ip", i.McastDstIP)
	listBlock(w, "unicast_peer", i.UnicastPeers, unicastPeerWords)
	if len(i.UnicastPeers) > 0 {
		w.nz("unicast_ttl", i.UnicastTTL)
	}
	w.flag("unicast_fault_no_peer", i.UnicastFaultNoPeer)
	w.boolean("check_unicast_src", i.CheckUnicastSrc)
	w.tracks("track_interface", i.TrackInterfaces)
	w.tracks("track_script", i.TrackScripts)
	w.tracks("track_file", i.TrackFiles)
	w.tracks("track_process", i.TrackProcesses)
	w.tracks("track_bfd", i.TrackBFDs)
	w.flag("dont_track_primary", i.DontTrackPrimary)
	w.flag("nopreempt", i.NoPreempt)
	w.dnz("preempt_delay", i.PreemptDelay)
	w.boolPtr("accept", i.Accept)
	if i.UseVMAC {
		w.line("use_vmac", quote(i.VMACName))
	}
	w.flag("vmac_xmit_base", i.VMACXmitBase)
	w.flag("native_ipv6", i.NativeIPv6)
	w.dur("garp_master_delay", i.GarpMasterDelay)
	w.nz("garp_master_repeat", i.GarpMasterRepeat)
	w.dur("garp_lower_prio_delay", i.GarpLowerPrioDelay)
	w.nz("garp_lower_prio_repeat", i.GarpLowerPrioRepeat)
	w.dur("garp_master_refresh", i.GarpMasterRefresh)
	w.nz("garp_master_refresh_repeat", i.GarpMasterRefreshRepeat)
	w.boolean("lower_prio_no_advert", i.LowerPrioNoAdvert)
	w.boolean("higher_prio_send_advert", i.HigherPrioSendAdvert)
	w.nz("down_timer_adverts", i.DownTimerAdverts)
	w.boolean("skip_check_adv_addr", i.SkipCheckAdvAddr)
	w.boolean("strict_mode", i.Strict)
	w.flag("promote_secondaries", i.PromoteSecondaries)
	w.notify("notify_master", i.NotifyMaster)
	w.notify("notify_backup", i.NotifyBackup)
	w.notify("notify_fault", i.NotifyFault)
	w.notify("notify_stop", i.NotifyStop)
	w.notify("notify", i.Notify)
	w.notify("notify_master_rx_lower_pri", i.NotifyMasterRxLowerPri)
	w.flag("notify_priority_changes", i.NotifyPriorityChanges)
	w.boolPtr("smtp_alert", i.SMTPAlert)
	w.other(i.Other)
	w.close()
}

func (w *printer) syncGroup(g *SyncGroup) {
	w.open("vrrp_sync_group", quote(g.Name))
	w.nameBlock("group", g.Group)
	w.tracks("track_interface", g.TrackInterfaces)
	w.tracks("track_script", g.TrackScripts)
	w.tracks("track_file", g.TrackFiles)
	w.tracks("track_process", g.TrackProcesses)
	w.tracks("track_bfd", g.TrackBFDs)
	w.notify("notify_master", g.NotifyMaster)
	w.notify("notify_backup", g.NotifyBackup)
	w.notify("notify_fault", g.NotifyFault)
	w.notify("notify_stop", g.NotifyStop)
	w.notify("notify", g.Notify)
	w.flag("notify_priority_changes", g.NotifyPriorityChanges)
	w.boolPtr("smtp_alert", g.SMTPAlert)
	w.flag("global_tracking", g.GlobalTracking)
	w.flag("sync_group_tracking_weight", g.SyncGroupTrackingWeight)
	w.close()
}

func (w *printer) bfd(b *BFDInstance) {
	w.open("bfd_instance", quote(b.Name))
	w.addr("neighbor_ip", b.NeighborIP)
	w.addr("source_ip", b.SourceIP)
	w.line("min_rx", fmtSeconds(b.MinRx*1000)) // milliseconds
	w.line("min_tx", fmtSeconds(b.MinTx*1000))
	w.line("idle_tx", fmtSeconds(b.IdleTx*1000))
	w.nz("multiplier", b.Multiplier)
	w.flag("passive", b.Passive)
	w.nz("ttl", b.TTL)
	w.nz("max_hops", b.MaxHops)
	w.weight(b.Weight, b.Reverse)
	w.flag("vrrp", b.VRRP)
	w.flag("checker", b.Checker)
	w.close()
}

func (w *printer) method(kw, m, tun string) {
	if tun != "" {
		w.line(kw, m, "type", tun)
	} else {
		w.line(kw, m)
	}
}

func (w *printer) virtualServer(vs *VirtualServer) {
	switch {
	case vs.Group != "":
		w.open("virtual_server", "group", quote(vs.Group))
	case vs.FWMark != 0:
		w.open("virtual_server", "fwmark", strconv.FormatUint(uint64(vs.FWMark), 10))
	default:
		w.open(addrPortWords("virtual_server", vs.Addr, vs.Port)...)
	}
	w.str("lvs_sched", vs.Scheduler)
	if vs.Method != "" {
		w.method("lvs_method", vs.Method, vs.TunnelType)
	}
	if vs.Protocol != "" {
		w.line("protocol", vs.Protocol)
	}
	if vs.Persistence {
		w.dur("persistence_timeout", vs.PersistenceTimeout)
	}
	w.str("persistence_granularity", vs.PersistenceGranularity)
	w.str("persistence_engine", vs.PersistenceEngine)
	w.flag("ha_suspend", vs.HASuspend)
	w.str("virtualhost", vs.VirtualHost)
	w.flag("alpha", vs.Alpha)
	w.flag("omega", vs.Omega)
	w.nz("quorum", vs.Quorum)
	w.num("hysteresis", vs.Hysteresis)
	w.notify("quorum_up", vs.QuorumUp)
	w.notify("quorum_down", vs.QuorumDown)
	w.str("ip_family", vs.IPFamily)
	if s := vs.SorryServer; s != nil {
		w.line(addrPortWords("sorry_server", s.Addr, s.Port)...)
		w.str("sorry_server_lvs_method", s.Method)
	}
	w.flag("sorry_server_inhibit", vs.SorryServerInhibit)
	w.dnz("delay_loop", vs.DelayLoop)
	w.dnz("connect_timeout", vs.ConnectTimeout)
	w.num("retry", vs.Retry)
	w.dur("delay_before_retry", vs.DelayBeforeRetry)
	w.dur("warmup", vs.Warmup)
	w.flag("inhibit_on_failure", vs.InhibitOnFailure)
	w.boolPtr("smtp_alert", vs.SMTPAlert)
	for _, f := range vs.Flags {
		w.line(f)
	}
	w.other(vs.Other)
	for _, rs := range vs.RealServers {
		w.realServer(&rs)
	}
	w.close()
}

func (w *printer) realServer(rs *RealServer) {
	w.open(addrPortWords("real_server", rs.Addr, rs.Port)...)
	w.num("weight", rs.Weight)
	w.str("lvs_method", rs.Method)
	w.notify("notify_up", rs.NotifyUp)
	w.notify("notify_down", rs.NotifyDown)
	w.nz("uthreshold", rs.UThreshold)
	w.nz("lthreshold", rs.LThreshold)
	w.boolPtr("smtp_alert", rs.SMTPAlert)
	w.str("virtualhost", rs.VirtualHost)
	w.boolPtr("alpha", rs.Alpha)
	w.boolean("inhibit_on_failure", rs.InhibitOnFailure)
	w.dnz("delay_loop", rs.DelayLoop)
	w.dnz("connect_timeout", rs.ConnectTimeout)
	w.num("retry", rs.Retry)
	w.dur("delay_before_retry", rs.DelayBeforeRetry)
	w.dur("warmup", rs.Warmup)
	w.other(rs.Other)
	for _, c := range rs.Checkers {
		w.checker(&c)
	}
	w.close()
}

func (w *printer) checker(c *Checker) {
	w.open(string(c.Kind))
	w.addr("connect_ip", c.ConnectIP)
	w.nz("connect_port", int(c.ConnectPort))
	w.addr("bindto", c.BindTo)
	w.str("bind_if", c.BindIf)
	w.nz("bind_port", int(c.BindPort))
	if c.FWMark != 0 {
		w.line("fwmark", strconv.FormatUint(uint64(c.FWMark), 10))
	}
	w.dnz("connect_timeout", c.ConnectTimeout)
	w.num("retry", c.Retry)
	w.dur("delay_before_retry", c.DelayBeforeRetry)
	w.dur("warmup", c.Warmup)
	w.dnz("delay_loop", c.DelayLoop)
	w.boolPtr("alpha", c.Alpha)
	w.boolPtr("log_all_failures", c.LogAllFailures)
	switch c.Kind {
	case HTTPGet, SSLGet:
		for _, u := range c.URLs {
			w.open("url")
			w.str("path", u.Path)
			w.str("digest", u.Digest)
			if len(u.StatusCodes) > 0 {
				words := []string{"status_code"}
				for _, r := range u.StatusCodes {
					if r.Lo == r.Hi {
						words = append(words, strconv.Itoa(r.Lo))
					} else {
						words = append(words, fmt.Sprintf("%d-%d", r.Lo, r.Hi))
					}
				}
				w.line(words...)
			}
			w.str("virtualhost", u.VirtualHost)
			w.str("regex", u.Regex)
			w.flag("regex_no_match", u.RegexNoMatch)
			w.close()
		}
		w.str("http_protocol", c.HTTPProtocol)
		w.str("virtualhost", c.VirtualHost)
		w.flag("fast_recovery", c.FastRecovery)
		w.flag("enable_sni", c.EnableSNI)
	case SMTPCheck:
		w.str("helo_name", c.HeloName)
	case DNSCheck:
		w.str("type", c.DNSType)
		w.str("name", c.DNSName)
	case UDPCheck:
		if len(c.Payload) > 0 {
			w.line("payload", hex.EncodeToString(c.Payload))
		}
		if c.RequireReply {
			if len(c.ReplyData) > 0 {
				w.line("require_reply", hex.EncodeToString(c.ReplyData))
			} else {
				w.line("require_reply")
			}
		}
		w.num("min_reply_length", c.MinReplyLength)
		w.num("max_reply_length", c.MaxReplyLength)
	case MiscCheck:
		w.str("misc_path", c.MiscPath)
		w.dnz("misc_timeout", c.MiscTimeout)
		w.flag("misc_dynamic", c.MiscDynamic)
		if c.User != "" {
			w.line(userWords("user", c.User, c.Group)...)
		}
	case FileCheck:
		w.str("track_file", c.TrackFile)
		w.flag("dynamic", c.Dynamic)
		w.weight(c.Weight, c.Reverse)
	case BFDCheck:
		w.str("name", c.BFDName)
		if c.Weight != 0 || c.Reverse {
			w.weight(c.Weight, c.Reverse)
		}
	}
	w.close()
}
