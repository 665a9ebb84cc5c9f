package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"
)

// ErrNotSupported is returned on platforms other than Linux. It wraps
// [errors.ErrUnsupported], as do the errors of a kernel without a needed
// feature (nf_tables for NoAccept).
var ErrNotSupported = fmt.Errorf("vip: %w on this platform", errors.ErrUnsupported)

// ErrClosed is returned by a Manager after Close. It is [net.ErrClosed],
// as in the suite's other packages.
var ErrClosed = net.ErrClosed

// RouteProtocol is the routing protocol number (rtm_protocol) with which the
// Manager marks the routes and rules it adds, so that they can be told apart
// from an operator's. It is the value registered for keepalived in
// /etc/iproute2/rt_protos ("keepalived", 18).
const RouteProtocol = 18

// Address is a virtual address on an interface.
type Address struct {
	// Prefix is the address and its prefix length, e.g. 192.0.2.100/24.
	// A bare address (no length given by the caller) should use /32 or /128.
	Prefix netip.Prefix
	// Interface is the name of the interface the address is added to.
	Interface string
	// Label is the IPv4 address label (must start with the interface name,
	// as the kernel requires). Ignored for IPv6. If empty, no label is set.
	Label string
	// Broadcast is the IPv4 broadcast address. If invalid (zero), the kernel
	// default is used (computed from the prefix for prefixes shorter than /31).
	Broadcast netip.Addr
	// Scope is the address scope (RT_SCOPE_*: 0 global, 253 link, 254 host).
	Scope uint8
	// DAD enables IPv6 duplicate address detection. By default a virtual
	// IPv6 address is added with IFA_F_NODAD, as keepalived does.
	DAD bool
	// NoAccept drops the traffic to the address that is not VRRP (IP
	// protocol 112), as keepalived does for a master that is not in
	// accept mode (no_accept, vrrp_strict; RFC 5798 Accept_Mode false):
	// the address is added to a set of the Manager's nftables table (see
	// Config.FilterTable) before it is added to the interface, and leaves
	// it when it is removed. IPv6 neighbour solicitations and
	// advertisements to the address still pass. Only an address the
	// Manager adds (owns) is filtered.
	NoAccept bool
	// NoPrefixRoute adds the address without the prefix route the kernel
	// would add for it (noprefixroute).
	NoPrefixRoute bool
	// HomeAddress marks an IPv6 Mobile IP home address (home).
	HomeAddress bool
	// ManageTempAddr makes the kernel create temporary (privacy)
	// addresses from this IPv6 prefix (mngtmpaddr).
	ManageTempAddr bool
	// AutoJoin joins the multicast group of a multicast address
	// (autojoin).
	AutoJoin bool
	// Peer is the remote end of a point-to-point address (peer PREFIX).
	// Its length must equal Prefix's. If invalid (zero), none.
	Peer netip.Prefix
	// PreferredLft is the preferred lifetime (preferred_lft): after it the
	// address is deprecated and no longer chosen as a source address; the
	// valid lifetime stays forever. If zero, forever; [LifetimeZero] for
	// preferred_lft 0 (deprecated at once, keepalived's usual use). Linux
	// honours a finite preferred lifetime for IPv6 only; an IPv4 address
	// is either deprecated (LifetimeZero) or not.
	PreferredLft time.Duration
}

// LifetimeZero is the Address.PreferredLft of preferred_lft 0.
const LifetimeZero time.Duration = -1

func (a Address) String() string {
	return fmt.Sprintf("%s dev %s", a.Prefix, a.Interface)
}

func (a Address) validate() error {
	var errs []error
	if !a.Prefix.IsValid() {
		errs = append(errs, errors.New("invalid prefix"))
	}
	if a.Interface == "" {
		errs = append(errs, errors.New("empty interface"))
	}
	if a.Label != "" && !strings.HasPrefix(a.Label, a.Interface) {
		errs = append(errs, errors.New("label must start with the interface name"))
	}
	if a.Broadcast.IsValid() && !a.Broadcast.Is4() {
		errs = append(errs, errors.New("broadcast must be IPv4"))
	}
	if a.Peer.IsValid() && (a.Peer.Addr().Unmap().Is4() != a.Prefix.Addr().Unmap().Is4() || a.Peer.Bits() != a.Prefix.Bits()) {
		errs = append(errs, errors.New("peer must have the address's family and prefix length"))
	}
	if a.PreferredLft < 0 && a.PreferredLft != LifetimeZero {
		errs = append(errs, errors.New("negative preferred lifetime (use LifetimeZero for 0)"))
	}
	if a.PreferredLft > 0 && a.PreferredLft/time.Second >= 1<<32-1 {
		errs = append(errs, errors.New("preferred lifetime too long (use zero for forever)"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("vip: address %s: %w", a, problems(errs))
	}
	return nil
}

// Route is a virtual route (keepalived virtual_routes).
type Route struct {
	// Dst is the destination prefix. Required.
	Dst netip.Prefix
	// Gateway is the next hop. Optional.
	Gateway netip.Addr
	// Src is the preferred source address. Optional.
	Src netip.Addr
	// Interface is the outgoing interface. Optional if Gateway is set.
	Interface string
	// Table is the routing table. If zero, the main table (254) is used.
	Table int
	// Metric is the route priority. Optional.
	Metric int
	// Scope is the route scope (RT_SCOPE_*). If zero, universe (global).
	Scope uint8
	// Type is the route type. If zero, unicast; blackhole, unreachable,
	// prohibit and throw routes take no Gateway, Interface or Nexthops.
	Type RouteType
	// Nexthops are the next hops of a multipath route (ip route ...
	// nexthop via GW dev IF weight W ...), instead of Gateway and
	// Interface. If empty, none.
	Nexthops Nexthops
	// SrcPrefix restricts the route to packets from this source prefix
	// (ip route ... from PREFIX: a source-specific route; IPv6 only on
	// Linux). If invalid (zero), any source.
	SrcPrefix netip.Prefix
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Type != RouteUnicast {
		s = r.Type.String() + " " + s
	}
	if r.SrcPrefix.IsValid() {
		s += " from " + r.SrcPrefix.String()
	}
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	if r.Interface != "" {
		s += " dev " + r.Interface
	}
	for _, h := range r.Nexthops.All() {
		s += " nexthop"
		if h.Gateway.IsValid() {
			s += " via " + h.Gateway.String()
		}
		if h.Interface != "" {
			s += " dev " + h.Interface
		}
		s += fmt.Sprintf(" weight %d", h.weight())
	}
	if r.Table != 0 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

// RouteType is the type of a route (rtm_type). The zero value is unicast.
type RouteType uint8

// Route types.
const (
	RouteUnicast     RouteType = iota // a normal route
	RouteBlackhole                    // silently discard
	RouteUnreachable                  // discard, ICMP host unreachable
	RouteProhibit                     // discard, ICMP administratively prohibited
	RouteThrow                        // end the table lookup, continue with the next rule
)

var routeTypeNames = [...]string{"unicast", "blackhole", "unreachable", "prohibit", "throw"}

func (t RouteType) String() string {
	if int(t) < len(routeTypeNames) {
		return routeTypeNames[t]
	}
	return fmt.Sprintf("RouteType(%d)", uint8(t))
}

// Nexthop is one next hop of a multipath route.
type Nexthop struct {
	// Gateway is the next hop's address. Optional if Interface is set.
	Gateway netip.Addr
	// Interface is the outgoing interface. Optional if Gateway is set.
	Interface string
	// Weight is the next hop's share (1..256). If zero, 1.
	Weight int
}

func (h Nexthop) weight() int {
	if h.Weight == 0 {
		return 1
	}
	return h.Weight
}

// Nexthops is an immutable list of next hops. Unlike a slice it is
// comparable, so a Route stays usable with == and as a map key: two lists
// with the same next hops in the same order are equal. The zero value is
// the empty list.
type Nexthops struct {
	enc string
}

// NewNexthops returns the list of hops.
func NewNexthops(hops ...Nexthop) Nexthops {
	var b []byte
	for _, h := range hops {
		ab, _ := h.Gateway.MarshalBinary() // never fails
		b = append(b, byte(len(ab)))
		b = append(b, ab...)
		n := min(len(h.Interface), 255) // validate rejects longer names
		b = append(b, byte(n))
		b = append(b, h.Interface[:n]...)
		b = append(b, byte(h.Weight>>8), byte(h.Weight))
	}
	return Nexthops{string(b)}
}

// All returns the next hops.
func (n Nexthops) All() []Nexthop {
	var out []Nexthop
	b := []byte(n.enc)
	for len(b) > 0 {
		var h Nexthop
		l := int(b[0])
		_ = h.Gateway.UnmarshalBinary(b[1 : 1+l])
		b = b[1+l:]
		l = int(b[0])
		h.Interface = string(b[1 : 1+l])
		b = b[1+l:]
		h.Weight = int(b[0])<<8 | int(b[1])
		b = b[2:]
		out = append(out, h)
	}
	return out
}

// Equal reports whether n and o hold the same next hops in the same
// order, as n == o does (for go-cmp).
func (n Nexthops) Equal(o Nexthops) bool { return n == o }

// Len returns the number of next hops.
func (n Nexthops) Len() int { return len(n.All()) }

// Rule is a virtual policy routing rule (keepalived virtual_rules).
type Rule struct {
	// From and To select by source and destination prefix; both optional,
	// but at least one, or a family via IPv6, must be given.
	From, To netip.Prefix
	// IPv6 selects the IPv6 rule table when neither From nor To is set.
	IPv6 bool
	// Table is the table to look up. Required.
	Table int
	// Priority is the rule priority (preference). If zero, the kernel picks one.
	Priority int
	// IifName and OifName select by interface. Optional.
	IifName, OifName string
	// FWMark and FWMask select by firewall mark (fwmark MARK/MASK). If
	// both are zero, any mark; a zero FWMask with a non-zero FWMark means
	// all bits.
	FWMark, FWMask uint32
	// IPProto selects by IP protocol (ipproto). If zero, any.
	IPProto uint8
	// Sport and Dport select by source and destination port range (sport,
	// dport). If zero, any.
	Sport, Dport PortRange
	// UIDRange selects by the user ID of the sending socket (uidrange).
	// If zero, any (so uidrange 0-0 cannot be expressed).
	UIDRange UIDRange
	// Suppress ignores a lookup result whose prefix is not longer than
	// SuppressPrefixlen (suppress_prefixlength N; 0 is the usual "only a
	// non-default route").
	Suppress          bool
	SuppressPrefixlen int
	// Not inverts the rule's selectors (not).
	Not bool
	// L3mdev looks the packet up in the table of the L3 master device
	// (VRF) of its interface (l3mdev), instead of Table, which must be
	// zero. Such a rule takes From, To, IifName, OifName, FWMark/FWMask,
	// Priority, IPv6 and Not only.
	L3mdev bool
}

// PortRange is an inclusive range of ports; Start alone is one port.
type PortRange struct{ Start, End uint16 }

func (p PortRange) String() string {
	if p.End == 0 || p.End == p.Start {
		return fmt.Sprint(p.Start)
	}
	return fmt.Sprintf("%d-%d", p.Start, p.End)
}

func (p PortRange) end() uint16 { return max(p.End, p.Start) }

// UIDRange is an inclusive range of user IDs.
type UIDRange struct{ Start, End uint32 }

func (r Rule) String() string {
	s := fmt.Sprintf("from %v to %v table %d pref %d", r.From, r.To, r.Table, r.Priority)
	if r.Not {
		s = "not " + s
	}
	if r.IifName != "" {
		s += " iif " + r.IifName
	}
	if r.OifName != "" {
		s += " oif " + r.OifName
	}
	if r.IPv6 {
		s += " ipv6"
	}
	if r.FWMark != 0 || r.FWMask != 0 {
		s += fmt.Sprintf(" fwmark %#x/%#x", r.FWMark, r.FWMask)
	}
	if r.IPProto != 0 {
		s += fmt.Sprintf(" ipproto %d", r.IPProto)
	}
	if r.Sport != (PortRange{}) {
		s += " sport " + r.Sport.String()
	}
	if r.Dport != (PortRange{}) {
		s += " dport " + r.Dport.String()
	}
	if r.UIDRange != (UIDRange{}) {
		s += fmt.Sprintf(" uidrange %d-%d", r.UIDRange.Start, r.UIDRange.End)
	}
	if r.Suppress {
		s += fmt.Sprintf(" suppress_prefixlength %d", r.SuppressPrefixlen)
	}
	if r.L3mdev {
		s += " l3mdev"
	}
	return s
}

// AnnouncePolicy says when gratuitous ARPs and unsolicited neighbour
// advertisements are sent after becoming master. The defaults follow
// keepalived: garp_master_repeat 5, garp_master_delay 5 s, no refresh.
type AnnouncePolicy struct {
	// Repeat is the number of packets per address in a burst.
	// If zero, 5 is used.
	Repeat int
	// Interval is the gap between two packets of a burst (garp_interval /
	// gna_interval). If zero, packets are sent back to back.
	Interval time.Duration
	// SecondBurstDelay is the delay before the second burst
	// (garp_master_delay). If zero, 5 s is used; negative disables it.
	SecondBurstDelay time.Duration
	// Refresh is the period of refresh announcements while master
	// (garp_master_refresh). If zero, there is no refresh.
	Refresh time.Duration
	// RefreshRepeat is the number of packets per address in each refresh
	// (garp_master_refresh_repeat). If zero, 1 is used.
	RefreshRepeat int
}

func (p AnnouncePolicy) repeat() int {
	if p.Repeat <= 0 {
		return 5
	}
	return p.Repeat
}

func (p AnnouncePolicy) secondDelay() time.Duration {
	if p.SecondBurstDelay == 0 {
		return 5 * time.Second
	}
	return p.SecondBurstDelay
}

func (p AnnouncePolicy) refreshRepeat() int {
	if p.RefreshRepeat <= 0 {
		return 1
	}
	return p.RefreshRepeat
}

// Config configures a Manager. The zero value is usable.
type Config struct {
	// NetNS is the path of the network namespace (e.g. /run/netns/x) the
	// Manager works in. If empty, the namespace of the calling thread at New.
	NetNS string
	// Announce is the announcement policy used by Announce.
	Announce AnnouncePolicy
	// Logger receives operational logs. If nil, logs are discarded.
	Logger *slog.Logger
	// FilterTable is the name of the nftables inet table holding the
	// NoAccept filter. The Manager creates it when it adds the first
	// NoAccept address (replacing a table of that name left by an earlier
	// run) and deletes it when the last one goes, and on RemoveAll and
	// Close. Managers that share a namespace must use different names. If
	// empty, "keepalived-go".
	FilterTable string
}

func (c Config) filterTable() string {
	if c.FilterTable == "" {
		return "keepalived-go"
	}
	return c.FilterTable
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// VMAC describes a VRRP virtual MAC interface (RFC 5798 §7.3): a macvlan in
// private mode on Parent with MAC 00:00:5e:00:01:VRID (IPv4) or
// 00:00:5e:00:02:VRID (IPv6).
type VMAC struct {
	// Name is the macvlan interface name, e.g. "vrrp.51". Required.
	Name string
	// Parent is the underlying interface. Required.
	Parent string
	// VRID is the virtual router ID (1..255).
	VRID uint8
	// IPv6 selects the IPv6 virtual MAC.
	IPv6 bool
}

// HardwareAddr returns the virtual router MAC address of v.
func (v VMAC) HardwareAddr() [6]byte {
	fam := byte(1)
	if v.IPv6 {
		fam = 2
	}
	return [6]byte{0x00, 0x00, 0x5e, 0x00, fam, v.VRID}
}

// Stats is a snapshot of a Manager's counters.
type Stats struct {
	AddrsAdded      uint64 // addresses added by us
	AddrsRemoved    uint64 // addresses removed by us
	AddrsPreexisted uint64 // Add found the same address already there (not owned)
	RoutesAdded     uint64
	RoutesRemoved   uint64
	RulesAdded      uint64
	RulesRemoved    uint64
	VMACsCreated    uint64
	VMACsDeleted    uint64
	GARPsSent       uint64 // ARP frames (requests and replies)
	NAsSent         uint64 // unsolicited neighbour advertisements
	Errors          uint64
	WatchResyncs    uint64 // Watch subscribed again after an overrun or failure
	WatchErrors     uint64 // netlink errors Watch saw (logged, not fatal)
	Filtered        uint64 // addresses currently in the NoAccept filter
}

// Controller is the method set of [Manager] that a daemon needs, so that
// it can be given an in-memory fake instead (package viptest). Both
// *Manager and *viptest.Fake implement it.
type Controller interface {
	// Apply makes the owned addresses, routes and rules match the set.
	Apply(ctx context.Context, desired Set) (Changes, error)
	// OwnedSet returns what is owned.
	OwnedSet() Set
	// Owned returns the owned addresses.
	Owned() []Address
	Add(ctx context.Context, a Address) error
	Remove(ctx context.Context, a Address) error
	AddRoute(ctx context.Context, r Route) error
	RemoveRoute(ctx context.Context, r Route) error
	AddRule(ctx context.Context, r Rule) error
	RemoveRule(ctx context.Context, r Rule) error
	CreateVMAC(ctx context.Context, v VMAC) error
	DeleteVMAC(ctx context.Context, name string) error
	Announce(ctx context.Context, iface string, addrs []netip.Addr) error
	AnnounceOnce(ctx context.Context, iface string, addrs []netip.Addr, repeat int) error
	StopAnnounce(iface string)
	RemoveAll(ctx context.Context) error
	Close() error
	Stats() Stats
	// Watch reports link events and owned objects removed by others.
	Watch(ctx context.Context, cfg WatchConfig) (<-chan Event, error)
}

var _ Controller = (*Manager)(nil)
