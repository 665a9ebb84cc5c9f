package vip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// ErrNotSupported is returned on platforms other than Linux.
var ErrNotSupported = errors.New("vip: not supported on this platform")

// ErrClosed is returned by a Manager after Close.
var ErrClosed = errors.New("vip: manager closed")

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
}

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
	if len(errs) > 0 {
		return fmt.Errorf("vip: address %s: %w", a, errors.Join(errs...))
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
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	if r.Interface != "" {
		s += " dev " + r.Interface
	}
	if r.Table != 0 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

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
}

func (r Rule) String() string {
	s := fmt.Sprintf("from %v to %v table %d pref %d", r.From, r.To, r.Table, r.Priority)
	if r.IifName != "" {
		s += " iif " + r.IifName
	}
	if r.OifName != "" {
		s += " oif " + r.OifName
	}
	if r.IPv6 {
		s += " ipv6"
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
