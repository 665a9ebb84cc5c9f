package config

import (
	"strings"
	"time"
)

// SSL is the top-level SSL block used by SSL_GET checkers. If no field is
// set, keepalived generates a context.
type SSL struct {
	Password    string
	CA          string
	Certificate string
	Key         string
}

// GarpGroup is a garp_group block: delays between gratuitous ARPs and
// unsolicited neighbour advertisements on a set of interfaces.
type GarpGroup struct {
	Pos          Pos
	GarpInterval time.Duration
	GnaInterval  time.Duration
	Interfaces   []string // from interface or interfaces { }
}

// TrackGroup is a track_group block naming the vrrp instances that track a
// static address, route or rule.
type TrackGroup struct {
	Pos   Pos
	Name  string
	Group []string
}

// LinkbeatInterface is an entry of linkbeat_interfaces.
type LinkbeatInterface struct {
	Name string
	Type string // MII, ETHTOOL, IOCTL or empty
}

// InterfaceDelay is an entry of interface_up_down_delays.
type InterfaceDelay struct {
	Name string
	Down time.Duration
	Up   time.Duration // equal to Down when not given
}

func (d *decoder) ssl(n *node) {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "SSL: expected a block")
		return
	}
	s := &SSL{}
	h := map[string]handler{
		"password":    func(d *decoder, n *node) { d.str(n, &s.Password) },
		"ca":          func(d *decoder, n *node) { d.str(n, &s.CA) },
		"certificate": func(d *decoder, n *node) { d.str(n, &s.Certificate) },
		"key":         func(d *decoder, n *node) { d.str(n, &s.Key) },
	}
	d.block(n.children, h, nil, nil)
	d.cfg.SSL = s
}

func (d *decoder) garpGroup(n *node) {
	if !n.block {
		d.p.problemf(MissingBlock, n.name.pos, "garp_group: expected a block")
		return
	}
	g := GarpGroup{Pos: n.name.pos}
	hasIf, hasIfs := false, false
	h := map[string]handler{
		"garp_interval": func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &g.GarpInterval) },
		"gna_interval":  func(d *decoder, n *node) { d.timer(n, 0, maxTimer, &g.GnaInterval) },
		"interface": func(d *decoder, n *node) {
			var s string
			d.str(n, &s)
			if s != "" {
				hasIf = true
				g.Interfaces = append(g.Interfaces, s)
			}
		},
		"interfaces": func(d *decoder, n *node) {
			hasIfs = true
			g.Interfaces = append(g.Interfaces, d.names(n)...)
		},
	}
	d.block(n.children, h, nil, nil)
	if hasIf && hasIfs {
		d.warnf(n.name.pos, "garp_group: only one of interface or interfaces should be used")
	}
	if len(g.Interfaces) == 0 {
		d.warnf(n.end, "garp_group: no interface specified, removing")
		return
	}
	d.cfg.GarpGroups = append(d.cfg.GarpGroups, g)
}

func (d *decoder) trackGroup(n *node) {
	name, ok := d.blockName(n)
	if !ok {
		return
	}
	g := TrackGroup{Pos: n.name.pos, Name: name}
	h := map[string]handler{
		"group": func(d *decoder, n *node) { g.Group = append(g.Group, d.names(n)...) },
	}
	d.block(n.children, h, nil, nil)
	d.cfg.TrackGroups = append(d.cfg.TrackGroups, g)
}

func (d *decoder) linkbeat(n *node) {
	ls := blockLines(d, n, func(c *node) (LinkbeatInterface, bool) {
		l := LinkbeatInterface{Name: c.name.text}
		if len(c.args) > 0 {
			t := strings.ToUpper(c.args[0].text)
			switch t {
			case "MII", "ETHTOOL", "IOCTL":
				l.Type = t
			default:
				d.warnf(c.args[0].pos, "linkbeat_interfaces %s: unknown type %q, expected MII, ETHTOOL or IOCTL", l.Name, c.args[0].text)
			}
		}
		return l, true
	})
	d.cfg.LinkbeatInterfaces = append(d.cfg.LinkbeatInterfaces, ls...)
}

func (d *decoder) upDownDelays(n *node) {
	es := blockLines(d, n, func(c *node) (InterfaceDelay, bool) {
		e := InterfaceDelay{Name: c.name.text}
		if len(c.args) == 0 {
			d.warnf(c.name.pos, "interface_up_down_delays %s: missing delay, expected IFNAME DOWN_DELAY [UP_DELAY]", e.Name)
			return e, false
		}
		if !d.timerTok(c.args[0], "interface_up_down_delays", 0, 255*time.Second, &e.Down) {
			return e, false
		}
		e.Up = e.Down
		if len(c.args) > 1 && !d.timerTok(c.args[1], "interface_up_down_delays", 0, 255*time.Second, &e.Up) {
			return e, false
		}
		return e, true
	})
	d.cfg.InterfaceDelays = append(d.cfg.InterfaceDelays, es...)
}

// SplitCommand splits a script string (notify, vrrp_script, misc_path ...)
// into its program and arguments as keepalived does: unquoted spaces
// separate arguments and single quotes group an argument containing
// spaces.
func SplitCommand(s string) []string {
	var out []string
	var b strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			quoted = !quoted
			in = true
		case !quoted && (c == ' ' || c == '\t'):
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}

// Args returns the program and arguments of the script (see SplitCommand).
func (n Notify) Args() []string { return SplitCommand(n.Script) }
