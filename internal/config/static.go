package config

import (
	"net/netip"
	"strconv"
)

// line returns the keyword and arguments of a node as one token list
// (address, route and rule lines have no keyword).
func line(n *node) []token {
	return append([]token{n.name}, n.args...)
}

var addrFlags = keywords(`home -nodad mngtmpaddr noprefixroute autojoin no_track use_vmac`)

// addresses reads a block of address lines; it also returns the position
// of each address.
func (d *decoder) addresses(n *node) ([]Address, []Pos) {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "%s: expected a block", n.name.text)
		return nil, nil
	}
	var out []Address
	var pos []Pos
	for _, c := range n.children {
		if a, ok := d.address(line(c), n.name.text); ok {
			out = append(out, a)
			pos = append(pos, c.name.pos)
		}
	}
	return out, pos
}

func (d *decoder) address(ts []token, kw string) (Address, bool) {
	var a Address
	p, ok := parsePrefix(ts[0].text)
	if !ok {
		d.warnf(ts[0].pos, "%s: invalid IP address %q, expected ADDRESS[/PREFIXLEN], skipping", kw, ts[0].text)
		return a, false
	}
	a.Prefix = p
	for i := 1; i < len(ts); i++ {
		t := ts[i]
		val := func() (token, bool) {
			if i+1 >= len(ts) {
				d.warnf(t.pos, "%s %s: missing value after %q", kw, ts[0].text, t.text)
				return token{}, false
			}
			i++
			return ts[i], true
		}
		switch t.text {
		case "brd", "broadcast":
			if v, ok := val(); ok {
				switch v.text {
				case "+", "-":
					a.Broadcast = hostBits(a.Prefix, v.text == "+")
				default:
					if x, ok := d.addrTok(v, kw+" brd"); ok {
						a.Broadcast = x
					}
				}
			}
		case "dev":
			if v, ok := val(); ok {
				a.Dev = v.text
			}
		case "scope":
			if v, ok := val(); ok {
				if !validScope(v.text) {
					d.warnf(v.pos, "%s: invalid scope %q, expected site, link, host, nowhere, global or a number", kw, v.text)
					continue
				}
				a.Scope = v.text
			}
		case "label":
			if v, ok := val(); ok {
				a.Label = v.text
			}
		case "peer":
			if v, ok := val(); ok {
				x, err := netip.ParseAddr(v.text)
				if err != nil {
					// keepalived drops the whole address
					d.warnf(v.pos, "%s: invalid peer address %q, expected an address without prefix length; skipping", kw, v.text)
					return a, false
				}
				a.Peer = x
			}
		case "preferred_lft":
			if v, ok := val(); ok {
				a.Preferred = v.text
			}
		case "track_group":
			if v, ok := val(); ok {
				a.TrackGroup = v.text
			}
		default:
			if addrFlags[t.text] {
				a.Flags = append(a.Flags, t.text)
				continue
			}
			d.warnf(t.pos, "%s %s: unknown option %q, expected brd, dev, scope, label, peer or a flag", kw, ts[0].text, t.text)
		}
	}
	return a, true
}

func validScope(s string) bool {
	switch s {
	case "site", "link", "host", "nowhere", "global":
		return true
	}
	v, err := strconv.Atoi(s)
	return err == nil && v >= 0 && v <= 255
}

var routeTypes = keywords(`unicast blackhole unreachable prohibit throw local broadcast anycast multicast nat`)

// routeValueOpts are ip-route options with one value, kept verbatim.
var routeValueOpts = keywords(`mtu advmss rtt rttvar reordering window cwnd ssthresh realms rto_min
	initcwnd initrwnd features hoplimit quickack congctl pref expires fastopen_no_cookie tos dsfield
	ttl-propagate encap vrf track_group`)

var routeFlagOpts = keywords(`onlink pervasive lock append`)

func (d *decoder) routes(n *node) []Route {
	return blockLines(d, n, func(c *node) (Route, bool) { return d.route(line(c), n.name.text) })
}

func (d *decoder) route(ts []token, kw string) (Route, bool) {
	var r Route
	var nh *Nexthop
	var orVia netip.Addr
	bad := false
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		val := func() (token, bool) {
			if i+1 >= len(ts) {
				d.warnf(t.pos, "%s: missing value after %q", kw, t.text)
				bad = true
				return token{}, false
			}
			i++
			return ts[i], true
		}
		addr := func() (netip.Addr, bool) {
			v, ok := val()
			if !ok {
				return netip.Addr{}, false
			}
			if v.text == "inet" || v.text == "inet6" {
				if v, ok = val(); !ok {
					return netip.Addr{}, false
				}
			}
			a, ok := d.addrTok(v, kw+" "+t.text)
			if !ok {
				bad = true
			}
			return a, ok
		}
		prefix := func(v token) (netip.Prefix, bool) {
			p, ok := parsePrefix(v.text)
			if !ok {
				d.warnf(v.pos, "%s: invalid destination %q, expected PREFIX", kw, v.text)
				bad = true
			}
			return p, ok
		}
		switch {
		case i == 0 && routeTypes[t.text]:
			if t.text != "unicast" {
				r.Type = t.text
			}
		case t.text == "src":
			r.Src, _ = addr()
		case t.text == "to":
			if v, ok := val(); ok {
				r.To, _ = prefix(v)
			}
		case t.text == "from":
			if v, ok := val(); ok {
				r.From, _ = prefix(v)
			}
		case t.text == "via" || t.text == "gw":
			if t.text == "gw" {
				d.warnf(t.pos, "\"gw\" for routes is deprecated, use \"via\"")
			}
			a, _ := addr()
			if nh != nil {
				nh.Via = a
			} else {
				r.Via = a
			}
		case t.text == "or":
			d.warnf(t.pos, "\"or\" for routes is deprecated, use \"nexthop\"")
			orVia, _ = addr()
		case t.text == "dev" || t.text == "oif":
			if v, ok := val(); ok {
				if nh != nil {
					nh.Dev = v.text
				} else {
					r.Dev = v.text
				}
			}
		case t.text == "nexthop":
			r.Nexthops = append(r.Nexthops, Nexthop{})
			nh = &r.Nexthops[len(r.Nexthops)-1]
		case t.text == "weight" && nh != nil:
			if v, ok := val(); ok {
				if x, ok := d.intTok(v, "nexthop weight", 1, 256); ok {
					nh.Weight = int(x)
				}
			}
		case t.text == "onlink" && nh != nil:
			nh.Onlink = true
		case t.text == "table":
			if v, ok := val(); ok {
				r.Table = v.text
			}
		case t.text == "metric" || t.text == "priority" || t.text == "preference":
			if v, ok := val(); ok {
				if x, ok := d.intTok(v, kw+" metric", 0, 4294967295); ok {
					m := uint32(x)
					r.Metric = &m
				}
			}
		case t.text == "scope":
			if v, ok := val(); ok {
				if validScope(v.text) {
					r.Scope = v.text
				} else {
					d.warnf(v.pos, "%s: invalid scope %q", kw, v.text)
				}
			}
		case t.text == "proto" || t.text == "protocol":
			if v, ok := val(); ok {
				r.Protocol = v.text
			}
		case t.text == "no_track":
			r.NoTrack = true
		case t.text == "inet" || t.text == "inet6":
			// family hint: the addresses give the family
		case routeValueOpts[t.text]:
			if v, ok := val(); ok {
				r.Options = append(r.Options, t.text, v.text)
			}
		case routeFlagOpts[t.text]:
			r.Options = append(r.Options, t.text)
		case !r.To.IsValid():
			r.To, _ = prefix(t)
		default:
			d.warnf(t.pos, "%s: unknown route option %q", kw, t.text)
		}
	}
	if bad {
		return r, false
	}
	if !r.To.IsValid() {
		d.warnf(ts[0].pos, "%s: route has no destination, expected [to] PREFIX", kw)
		return r, false
	}
	if orVia.IsValid() {
		r.Nexthops = append(r.Nexthops, Nexthop{Via: r.Via}, Nexthop{Via: orVia})
		r.Via = netip.Addr{}
	}
	if r.From.IsValid() && r.From.Addr().Is4() {
		d.warnf(ts[0].pos, "route from address only supported with IPv6 (%s), ignoring it", r.From)
		r.From = netip.Prefix{}
	}
	if !r.NoTrack && r.Dev == "" {
		d.warnf(ts[0].pos, "cannot track route %s with no interface specified, not tracking", r.To)
		r.NoTrack = true
	}
	return r, true
}

var ruleValueOpts = keywords(`iif oif tos dsfield fwmark realms goto suppress_prefixlength
	suppress_ifgroup uidrange protocol ip_proto sport dport track_group`)

func (d *decoder) rules(n *node) []Rule {
	return blockLines(d, n, func(c *node) (Rule, bool) { return d.rule(line(c), n.name.text) })
}

func (d *decoder) rule(ts []token, kw string) (Rule, bool) {
	var r Rule
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		val := func() (token, bool) {
			if i+1 >= len(ts) {
				d.warnf(t.pos, "%s: missing value after %q", kw, t.text)
				return token{}, false
			}
			i++
			return ts[i], true
		}
		switch t.text {
		case "from", "to":
			v, ok := val()
			if !ok {
				return r, false
			}
			var p netip.Prefix
			if v.text != "all" {
				if p, ok = parsePrefix(v.text); !ok {
					d.warnf(v.pos, "invalid rule %s address %s", t.text, v.text)
					return r, false
				}
			}
			if t.text == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "table", "lookup":
			if v, ok := val(); ok {
				r.Table = v.text
			}
		case "preference", "priority", "pref":
			if v, ok := val(); ok {
				if x, ok := d.intTok(v, kw+" preference", 0, 4294967295); ok {
					p := uint32(x)
					r.Preference = &p
				}
			}
		case "no_track":
			r.NoTrack = true
		case "inet", "inet6":
			// family hint: the addresses give the family
		case "l3mdev", "not", "invert":
			r.Options = append(r.Options, t.text)
		default:
			if ruleValueOpts[t.text] {
				if v, ok := val(); ok {
					r.Options = append(r.Options, t.text, v.text)
				}
				continue
			}
			d.warnf(t.pos, "%s: unknown rule option %q", kw, t.text)
		}
	}
	if r.Preference == nil {
		p := d.rulePref
		d.warnf(ts[0].pos, "rule has no preference specified, setting to %d; this is probably not what you want", p)
		r.Preference = &p
		if d.rulePref > 0 {
			d.rulePref--
		}
	}
	return r, true
}

// hostBits returns the address of p with all host bits set (the broadcast
// address) or cleared.
func hostBits(p netip.Prefix, set bool) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if set {
			b[i/8] |= 0x80 >> (i % 8)
		} else {
			b[i/8] &^= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
