package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type handler func(d *decoder, n *node)

// decoder turns the node tree into a typed Config.
type decoder struct {
	p   *pre // shares the warning and error lists
	cfg *Config
	// rulePref is the next automatic rule preference (keepalived counts
	// down from 16384).
	rulePref  uint32
	gseen     map[string]bool   // keywords seen in global_defs
	iseen     []map[string]bool // keywords seen per vrrp_instance
	smtpHosts []Checker         // host { } blocks of the SMTP_CHECK being read
	staticPos []Pos             // positions of the static addresses
	// sgHasGroup records, per sync group, whether it has a group block
	sgHasGroup []bool
}

func newDecoder(p *pre) *decoder {
	return &decoder{p: p, cfg: &Config{Global: globalDefaults()}, rulePref: 16384, gseen: map[string]bool{}}
}

func (d *decoder) warnf(pos Pos, format string, args ...any) { d.p.warnf(pos, format, args...) }

// block dispatches the children of a block to handlers. Keywords in known
// are accepted without interpretation and appended to other, if non-nil.
func (d *decoder) block(children []*node, handlers map[string]handler, known map[string]bool, other *[]Directive) {
	for _, c := range children {
		if h, ok := handlers[c.name.text]; ok {
			h(d, c)
			continue
		}
		if known[c.name.text] {
			if d.p.opts.ReportNoEffect {
				// Kept verbatim (or dropped) and read by nothing: see
				// the registry in keywords.go.
				d.p.warns = append(d.p.warns, Warning{Pos: c.name.pos, Msg: c.name.text + ": " + NoEffectMsg, Kind: WarningNoEffect})
			}
			if other != nil {
				*other = append(*other, Directive{Keyword: c.name.text, Args: c.argStrings()})
			}
			continue
		}
		d.unknownIn(c, handlers, known)
	}
}

// unknownIn warns about an unknown keyword and suggests a close known one.
func (d *decoder) unknownIn(n *node, handlers map[string]handler, known map[string]bool) {
	const limit = 3 // suggest keywords at most 2 edits away
	best, bestDist := "", limit
	consider := func(k string) {
		// the cap is one more than the best so far, so that a tie is a
		// real distance; ties go to the alphabetically first keyword
		dist := editDistance(n.name.text, k, bestDist+1)
		if dist < limit && (dist < bestDist || dist == bestDist && k < best) {
			best, bestDist = k, dist
		}
	}
	for k := range handlers {
		consider(k)
	}
	for k := range known {
		consider(k)
	}
	if best != "" && len(n.name.text) > 3 {
		d.warnf(n.name.pos, "unknown keyword '%s' (did you mean '%s'?)", n.name.text, best)
		return
	}
	d.unknown(n)
}

// editDistance is the Levenshtein distance of a and b, or max when it is
// at least max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= max {
			return max
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}

func (d *decoder) unknown(n *node) {
	d.warnf(n.name.pos, "unknown keyword '%s'", n.name.text)
}

func keywords(s string) map[string]bool {
	m := map[string]bool{}
	for f := range strings.FieldsSeq(s) {
		m[f] = true
	}
	return m
}

// arg returns argument i or reports what was expected.
func (d *decoder) arg(n *node, i int, what string) (token, bool) {
	if i < len(n.args) {
		return n.args[i], true
	}
	pos := n.name.pos
	if len(n.args) > 0 {
		pos = n.args[len(n.args)-1].pos
	}
	d.warnf(pos, "%s: missing argument, expected %s", n.name.text, what)
	return token{}, false
}

func (d *decoder) str(n *node, dst *string) {
	if t, ok := d.arg(n, 0, "a string"); ok {
		*dst = t.text
	}
}

func (d *decoder) intTok(t token, kw string, lo, hi int64) (int64, bool) {
	v, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		d.warnf(t.pos, "%s: invalid number %q, expected an integer in [%d, %d]", kw, t.text, lo, hi)
		return 0, false
	}
	if v < lo || v > hi {
		d.warnf(t.pos, "%s: number '%s' outside range [%d, %d]", kw, t.text, lo, hi)
		return 0, false
	}
	return v, true
}

func (d *decoder) int(n *node, lo, hi int64, dst *int) bool {
	t, ok := d.arg(n, 0, fmt.Sprintf("an integer in [%d, %d]", lo, hi))
	if !ok {
		return false
	}
	v, ok := d.intTok(t, n.name.text, lo, hi)
	if ok {
		*dst = int(v)
	}
	return ok
}

// parseTimer reads a keepalived <TIMER>: decimal seconds with microsecond
// resolution.
func parseTimer(s string) (time.Duration, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	ip, fp, hasDot := strings.Cut(s, ".")
	if ip == "" && (!hasDot || fp == "") {
		return 0, false
	}
	var secs int64
	if ip != "" {
		v, err := strconv.ParseUint(ip, 10, 32)
		if err != nil {
			return 0, false
		}
		secs = int64(v)
	}
	var us int64
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if i < 6 {
			us = us*10 + int64(c-'0')
		}
	}
	for i := len(fp); i < 6; i++ {
		us *= 10
	}
	return time.Duration(secs)*time.Second + time.Duration(us)*time.Microsecond, true
}

// timer reads a <TIMER> argument in [lo, hi].
func (d *decoder) timer(n *node, lo, hi time.Duration, dst *time.Duration) bool {
	t, ok := d.arg(n, 0, "a time in seconds")
	if !ok {
		return false
	}
	return d.timerTok(t, n.name.text, lo, hi, dst)
}

func (d *decoder) timerTok(t token, kw string, lo, hi time.Duration, dst *time.Duration) bool {
	v, ok := parseTimer(t.text)
	if !ok {
		d.warnf(t.pos, "%s: invalid time %q, expected seconds such as 1 or 0.5", kw, t.text)
		return false
	}
	if v < lo || v > hi {
		d.warnf(t.pos, "%s: time '%s' outside range [%s, %s]", kw, t.text, fmtSeconds(lo), fmtSeconds(hi))
		return false
	}
	*dst = v
	return true
}

// fmtSeconds formats a duration as keepalived timer text.
func fmtSeconds(v time.Duration) string {
	us := v.Microseconds()
	s := strconv.FormatInt(us/1e6, 10)
	if f := us % 1e6; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
	}
	return s
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// flag reads "keyword [<BOOL>]": the keyword alone means true.
func (d *decoder) flag(n *node) (bool, bool) {
	if len(n.args) == 0 {
		return true, true
	}
	v, ok := parseBool(n.args[0].text)
	if !ok {
		d.warnf(n.args[0].pos, "%s: invalid boolean %q, expected on|off|true|false|yes|no", n.name.text, n.args[0].text)
	}
	return v, ok
}

func (d *decoder) setFlag(n *node, dst *bool) {
	if v, ok := d.flag(n); ok {
		*dst = v
	}
}

func (d *decoder) setFlagPtr(n *node, dst **bool) {
	if v, ok := d.flag(n); ok {
		*dst = &v
	}
}

func (d *decoder) addrTok(t token, kw string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(t.text)
	if err != nil || a.Zone() != "" && !a.Is6() {
		d.warnf(t.pos, "%s: invalid IP address %q", kw, t.text)
		return netip.Addr{}, false
	}
	return a, true
}

func (d *decoder) addr(n *node, dst *netip.Addr) bool {
	t, ok := d.arg(n, 0, "an IP address")
	if !ok {
		return false
	}
	a, ok := d.addrTok(t, n.name.text)
	if ok {
		*dst = a
	}
	return ok
}

// parsePrefix reads "addr" or "addr/len"; a bare address gets a full length.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		return p, err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (d *decoder) port(t token, kw string) (uint16, bool) {
	v, ok := d.intTok(t, kw, 0, 65535)
	return uint16(v), ok
}

// notify reads "SCRIPT [username [groupname]]".
func (d *decoder) notify(n *node, dst *Notify) {
	t, ok := d.arg(n, 0, "a script")
	if !ok {
		return
	}
	nt := Notify{Script: t.text}
	if len(n.args) > 1 {
		nt.User = n.args[1].text
	}
	if len(n.args) > 2 {
		nt.Group = n.args[2].text
	}
	if len(n.args) > 3 {
		d.warnf(n.args[3].pos, "%s: unexpected argument %q, expected SCRIPT [username [groupname]]", n.name.text, n.args[3].text)
	}
	*dst = nt
}

// blockLines reads the lines of the block n with parse and returns what it
// accepted, in order. A keyword without a block gives a warning and nil.
func blockLines[T any](d *decoder, n *node, parse func(c *node) (T, bool)) []T {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "%s: expected a block", n.name.text)
		return nil
	}
	var out []T
	for _, c := range n.children {
		if v, ok := parse(c); ok {
			out = append(out, v)
		}
	}
	return out
}

// names reads a block whose lines are names (group { VI_1 VI_2 }).
func (d *decoder) names(n *node) []string {
	lines := blockLines(d, n, func(c *node) ([]token, bool) { return line(c), true })
	var out []string
	for _, ts := range lines {
		for _, t := range ts {
			out = append(out, t.text)
		}
	}
	return out
}

// trackHandler is the handler of a track_* block (weights in [-bound,
// bound]) whose entries are appended to the list dst returns.
func trackHandler(bound int64, dst func(d *decoder) *[]Track) handler {
	return func(d *decoder, n *node) {
		l := dst(d)
		*l = append(*l, d.tracks(n, -bound, bound)...)
	}
}

// tracks reads a track_* block: "NAME [weight W [reverse|noreverse]]".
func (d *decoder) tracks(n *node, lo, hi int64) []Track {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "%s: expected a block", n.name.text)
		return nil
	}
	var out []Track
	seen := map[string]bool{}
	for _, c := range n.children {
		tr := Track{Name: c.name.text, Pos: c.name.pos}
		if seen[tr.Name] {
			d.warnf(c.name.pos, "duplicate %s %s, ignoring", n.name.text, tr.Name)
			continue
		}
		ok := true
		for i := 0; i < len(c.args); i++ {
			a := c.args[i]
			switch a.text {
			case "weight":
				if i+1 >= len(c.args) {
					d.warnf(a.pos, "%s %s: missing weight value, expected an integer in [%d, %d]", n.name.text, tr.Name, lo, hi)
					ok = false
					continue
				}
				i++
				v, vok := d.intTok(c.args[i], n.name.text+" weight", lo, hi)
				if !vok {
					ok = false
					continue
				}
				tr.Weight, tr.Weighted = int(v), true
			case "reverse":
				tr.Reverse = true
			case "noreverse", "no_reverse":
				tr.Reverse = false
			default:
				d.warnf(a.pos, "%s %s: unknown option %q, expected weight or reverse", n.name.text, tr.Name, a.text)
			}
		}
		if ok {
			seen[tr.Name] = true
			out = append(out, tr)
		}
	}
	return out
}

// decode is the top level.
func (d *decoder) decode(nodes []*node) {
	// global settings written outside global_defs are kept with global_defs
	d.block(nodes, topHandlers, topKnown, &d.cfg.Global.Other)
	d.finish()
}

var topKnown = keywords(`include_check net_namespace_ipvs namespace_with_ipsets use_pid_dir
	linkbeat_use_polling child_wait_time`)

var topHandlers = newTopHandlers()

// newTopHandlers returns the handlers of the keywords of the block.
func newTopHandlers() map[string]handler {
	m := map[string]handler{
		"global_defs": (*decoder).globalDefs,
		"static_ipaddress": func(d *decoder, n *node) {
			as, pos := d.addresses(n)
			d.cfg.StaticAddresses = append(d.cfg.StaticAddresses, as...)
			d.staticPos = append(d.staticPos, pos...)
		},
		"static_routes":            func(d *decoder, n *node) { d.cfg.StaticRoutes = append(d.cfg.StaticRoutes, d.routes(n)...) },
		"static_rules":             func(d *decoder, n *node) { d.cfg.StaticRules = append(d.cfg.StaticRules, d.rules(n)...) },
		"vrrp_script":              (*decoder).vrrpScript,
		"track_file":               (*decoder).trackFile,
		"vrrp_track_file":          (*decoder).trackFile,
		"track_process":            (*decoder).trackProcess,
		"vrrp_track_process":       (*decoder).trackProcess,
		"vrrp_sync_group":          (*decoder).syncGroup,
		"vrrp_instance":            (*decoder).instance,
		"bfd_instance":             (*decoder).bfdInstance,
		"virtual_server_group":     (*decoder).vsGroup,
		"virtual_server":           (*decoder).virtualServer,
		"SSL":                      (*decoder).ssl,
		"garp_group":               (*decoder).garpGroup,
		"track_group":              (*decoder).trackGroup,
		"linkbeat_interfaces":      (*decoder).linkbeat,
		"interface_up_down_delays": (*decoder).upDownDelays,
		// global settings also accepted outside global_defs
		"net_namespace": func(d *decoder, n *node) { d.str(n, &d.cfg.Global.NetNamespace) },
		"instance":      func(d *decoder, n *node) { d.str(n, &d.cfg.Global.Instance) },
	}
	return m
}

// blockName returns the single name argument of a named block.
func (d *decoder) blockName(n *node) (string, bool) {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "%s: expected a block after the name", n.name.text)
		return "", false
	}
	if len(n.args) == 0 {
		d.p.problemf(DroppedObject, n.name.pos, "%s: missing name, expected %s NAME {", n.name.text, n.name.text)
		return "", false
	}
	return n.args[0].text, true
}
