package vrrp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"
)

// Defaults applied to zero fields of [Config].
const (
	DefaultVersion        = 3
	DefaultPriority       = 100
	DefaultAdvertInterval = time.Second
	// PriorityOwner is the priority of the router that owns the virtual
	// addresses (RFC 5798 §5.2.4).
	PriorityOwner = 255
	// PriorityStop is the priority a master advertises when it stops.
	PriorityStop = 0
)

// TrackedObject is something whose state adjusts the priority of an
// instance or faults it, as keepalived's track_script, track_interface,
// track_file and track_bfd do. Its state is set with
// [Instance.SetTracked] (or [EventTrack] on a [Machine]); objects start up.
type TrackedObject struct {
	// Name identifies the object; unique within a Config.
	Name string
	// Weight adjusts the priority: a positive weight is added while the
	// object is up, a negative one while it is down. Zero means the object
	// is unweighted: the instance goes to [StateFault] while it is down.
	// Weights are in -254..254. The effective priority is clamped to
	// 1..254; the owner priority 255 is never adjusted.
	Weight int
	// Reverse inverts the sense of the object, as keepalived's "reverse":
	// a weighted object applies the opposite adjustment (a positive weight
	// is subtracted while up, a negative one added while down), and an
	// unweighted object faults the instance while it is up.
	Reverse bool
}

// TTLRange is an inclusive range of accepted received TTL / hop limit
// values for unicast advertisements.
type TTLRange struct{ Min, Max uint8 }

// Config configures one VRRP virtual router instance, for a [Machine] or an
// [Instance]. A Config is copied by [New] and [NewMachine]: the caller's
// struct and slices are neither modified nor retained.
type Config struct {
	// Name names the instance in logs (keepalived's vrrp_instance name).
	Name string

	// Version is the VRRP version, 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
	// If zero, 3 is used.
	Version int

	// VRID is the virtual router identifier, 1-255. Required. [New]
	// rejects a VRID other than that of a [BoundTransport].
	VRID uint8

	// Priority is the configured (base) priority, 1-255; 255 means this
	// router owns the virtual addresses. If zero, 100 is used.
	Priority uint8

	// AdvertInterval is the advertisement interval. VRRPv2 needs whole
	// seconds (1s-255s); VRRPv3 whole centiseconds (10ms-40.95s). If zero,
	// 1s is used.
	AdvertInterval time.Duration

	// Source is this router's primary address on the interface: the IP
	// source of its advertisements, the address in the VRRPv3 pseudo-header
	// checksum and the tie-breaker on equal priority. For IPv6 it is the
	// interface's link-local address. Its family is the instance's family.
	// Required, except that [New] takes it from a [BoundTransport] (such as
	// [Conn.Transport]'s) when zero, and rejects one that differs.
	Source netip.Addr

	// Addrs are the virtual addresses advertised, of the same family as
	// Source (keepalived's virtual_ipaddress). At most 255.
	Addrs []netip.Addr

	// Peers are unicast peers. If empty, advertisements go to the VRRP
	// multicast group; otherwise one copy goes to each peer.
	Peers []netip.Addr

	// MulticastGroup is the multicast group advertisements are sent to
	// when Peers is empty (keepalived's mcast_dst_ip, vrrp_mcast_group4
	// and vrrp_mcast_group6), of the family of Source. If zero,
	// [MulticastGroup4] (224.0.0.18) or [MulticastGroup6] (ff02::12) is
	// used. The transport must receive it too: a [Conn] joins the groups
	// of [ConnConfig.MulticastGroups], and [New] rejects a group a Conn's
	// transport has not joined.
	MulticastGroup netip.Addr

	// UnicastTTL is the range of TTL / hop limit accepted on advertisements
	// when Peers is set. If zero, only 255 is accepted (as for multicast).
	UnicastTTL TTLRange

	// PeerTTL overrides UnicastTTL for individual peers (keepalived's
	// per-peer min_ttl / max_ttl).
	PeerTTL map[netip.Addr]TTLRange

	// CheckUnicastSource drops advertisements whose source is not in Peers
	// (keepalived's check_unicast_src).
	CheckUnicastSource bool

	// NoPreempt disables preemption: a higher-priority backup does not take
	// over from a lower-priority master (keepalived's nopreempt).
	NoPreempt bool

	// PreemptDelay delays preemption after the instance starts or leaves
	// FAULT: until it has passed, lower-priority advertisements are accepted
	// as if NoPreempt were set (keepalived's preempt_delay). 0-1000s.
	PreemptDelay time.Duration

	// Accept is VRRPv3 Accept_Mode: whether the master accepts packets
	// addressed to the virtual addresses it does not own. VRRP itself does
	// not act on it; it is reported for the caller that installs the
	// addresses and filters ([Instance.Accept]).
	Accept bool

	// InitialState is StateBackup, StateMaster, or zero (StateInit) for the
	// default. The instance always starts as BACKUP and waits
	// Master_Down_Interval, except that an owner (priority 255) becomes
	// MASTER at once unless InitialState is StateBackup. StateMaster does
	// not skip the wait for a non-owner, as in keepalived.
	InitialState State

	// AuthType and AuthPass configure VRRPv2 authentication. For
	// [AuthSimple], AuthPass (at most 8 bytes) is sent and checked. For
	// [AuthAH] the transport does the work; the instance only sets and
	// checks the type field. Must be zero for VRRPv3.
	AuthType AuthType
	AuthPass string

	// Checksum selects how VRRPv3 over IPv4 advertisements are checksummed
	// on send. The zero value includes the pseudo-header (keepalived's
	// default).
	Checksum ChecksumMode

	// ChecksumAccept selects which VRRPv3 over IPv4 checksum variants are
	// accepted on receive. The zero value accepts either.
	ChecksumAccept ChecksumAccept

	// StrictAddrs drops advertisements whose address list differs from
	// Addrs. Otherwise a mismatch is only counted (Stats.AddrMismatch) and
	// the advertisement is processed.
	StrictAddrs bool

	// HigherPrioSendAdvert makes a master that receives a higher-priority
	// advertisement send one more advertisement of its own before it becomes
	// BACKUP (keepalived's higher_prio_send_advert).
	HigherPrioSendAdvert bool

	// LowerPrioNoAdvert makes a master ignore lower-priority
	// advertisements, as the RFC says. By default it answers one with an
	// immediate advertisement, as keepalived does (lower_prio_no_advert).
	LowerPrioNoAdvert bool

	// Track lists the objects that adjust the priority or fault the
	// instance.
	Track []TrackedObject

	// Clock is the source of time for an Instance. If nil, the real clock
	// is used. Ignored by Machine.
	Clock Clock

	// Logger receives the Instance's logs. If nil, logs are discarded.
	// Ignored by Machine.
	Logger *slog.Logger

	// OnTransition, if not nil, is called on the Instance's loop goroutine
	// after every state transition, in order, after the advertisements of
	// the new state have been handed to the transport. It must return
	// quickly; it may call any method of the Instance (none blocks).
	// Ignored by Machine, which returns transitions as actions.
	OnTransition func(Transition)

	// OnLowerPriority, if not nil, is called on the Instance's loop
	// goroutine when it is MASTER and receives an advertisement that does
	// not preempt it: a lower priority other than 0, or an equal priority
	// from a lower primary address ([ActionLowerPriority]). keepalived
	// sends gratuitous ARPs (garp_lower_prio_repeat) and runs
	// notify_master_rx_lower_pri then: another router believed it was
	// master, so hosts may have stale ARP entries. The same rules as for
	// OnTransition apply. Ignored by Machine.
	OnLowerPriority func(PeerAdvert)
}

// ErrInvalidConfig is wrapped by the errors of [Config.Validate].
var ErrInvalidConfig = errors.New("invalid config")

// Validate reports every invalid field of c, after defaults are applied.
func (c *Config) Validate() error {
	_, err := c.normalize()
	return err
}

// is4 reports whether the instance is IPv4.
func (c *Config) is4() bool { return c.Source.Is4() }

// normalize returns a deep copy of c with defaults applied and zones
// stripped, or the errors of every invalid field.
func (c *Config) normalize() (Config, error) {
	var errs []error
	n := *c
	n.Addrs = slices.Clone(c.Addrs)
	n.Peers = slices.Clone(c.Peers)
	n.Track = slices.Clone(c.Track)
	if c.PeerTTL != nil {
		n.PeerTTL = make(map[netip.Addr]TTLRange, len(c.PeerTTL))
		for a, r := range c.PeerTTL {
			if r.Min > r.Max || !a.IsValid() {
				errs = append(errs, fmt.Errorf("vrrp: config PeerTTL: peer %v range %d-%d invalid: %w", a, r.Min, r.Max, ErrInvalidConfig))
			}
			n.PeerTTL[a.WithZone("").Unmap()] = r
		}
	}
	if n.Version == 0 {
		n.Version = DefaultVersion
	}
	if n.Priority == 0 {
		n.Priority = DefaultPriority
	}
	if n.AdvertInterval == 0 {
		n.AdvertInterval = DefaultAdvertInterval
	}
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("vrrp: config %s: %s: %w", field, fmt.Sprintf(format, args...), ErrInvalidConfig))
	}
	if n.VRID == 0 {
		bad("VRID", "must be 1-255")
	}
	switch n.Version {
	case 2:
		if n.AdvertInterval < time.Second || n.AdvertInterval > MaxAdvertIntervalV2 || n.AdvertInterval%time.Second != 0 {
			bad("AdvertInterval", "%v: VRRPv2 needs whole seconds in 1s-255s", n.AdvertInterval)
		}
		if n.Source.Is6() {
			bad("Version", "VRRPv2 is IPv4 only")
		}
	case 3:
		if n.AdvertInterval < 10*time.Millisecond || n.AdvertInterval > MaxAdvertIntervalV3 || n.AdvertInterval%(10*time.Millisecond) != 0 {
			bad("AdvertInterval", "%v: VRRPv3 needs whole centiseconds in 10ms-40.95s", n.AdvertInterval)
		}
		if n.AuthType != AuthNone || n.AuthPass != "" {
			bad("AuthType", "VRRPv3 has no authentication")
		}
	default:
		bad("Version", "%d: must be 2 or 3", n.Version)
	}
	if !n.Source.IsValid() {
		bad("Source", "required")
	} else {
		n.Source = n.Source.WithZone("").Unmap()
	}
	if len(n.Addrs) > 255 {
		bad("Addrs", "%d addresses, at most 255", len(n.Addrs))
	}
	for i, a := range n.Addrs {
		a = a.WithZone("").Unmap()
		n.Addrs[i] = a
		if !a.IsValid() || (n.Source.IsValid() && a.Is4() != n.Source.Is4()) {
			bad("Addrs", "address %d (%v) invalid or not of the family of Source", i, c.Addrs[i])
		}
	}
	for i, a := range n.Peers {
		a = a.WithZone("").Unmap()
		n.Peers[i] = a
		if !a.IsValid() || (n.Source.IsValid() && a.Is4() != n.Source.Is4()) {
			bad("Peers", "peer %d (%v) invalid or not of the family of Source", i, c.Peers[i])
		}
	}
	if n.MulticastGroup.IsValid() {
		g := n.MulticastGroup.WithZone("").Unmap()
		n.MulticastGroup = g
		if !g.IsMulticast() || (n.Source.IsValid() && g.Is4() != n.Source.Is4()) {
			bad("MulticastGroup", "%v: not a multicast address of the family of Source", c.MulticastGroup)
		}
	} else if n.Source.IsValid() {
		n.MulticastGroup = MulticastGroup4
		if n.Source.Is6() {
			n.MulticastGroup = MulticastGroup6
		}
	}
	if n.UnicastTTL == (TTLRange{}) {
		n.UnicastTTL = TTLRange{255, 255}
	} else if n.UnicastTTL.Min > n.UnicastTTL.Max {
		bad("UnicastTTL", "min %d above max %d", n.UnicastTTL.Min, n.UnicastTTL.Max)
	}
	if n.PreemptDelay < 0 || n.PreemptDelay > 1000*time.Second {
		bad("PreemptDelay", "%v: must be 0-1000s", n.PreemptDelay)
	}
	switch n.InitialState {
	case StateInit, StateBackup, StateMaster:
	default:
		bad("InitialState", "%v: must be BACKUP or MASTER", n.InitialState)
	}
	switch n.AuthType {
	case AuthNone:
		if n.AuthPass != "" {
			bad("AuthPass", "set without AuthType")
		}
	case AuthSimple:
		if len(n.AuthPass) > 8 {
			bad("AuthPass", "longer than 8 bytes")
		}
	case AuthAH:
	default:
		bad("AuthType", "%v: unknown", n.AuthType)
	}
	switch n.Checksum {
	case ChecksumPseudoHeader, ChecksumNoPseudoHeader:
	default:
		bad("Checksum", "%v: unknown", n.Checksum)
	}
	switch n.ChecksumAccept {
	case AcceptEither, AcceptConfigured, AcceptDetect:
	default:
		bad("ChecksumAccept", "%v: unknown", n.ChecksumAccept)
	}
	for i, t := range n.Track {
		if t.Name == "" {
			bad("Track", "object %d has no name", i)
		}
		if t.Weight < -254 || t.Weight > 254 {
			bad("Track", "object %q weight %d outside -254..254", t.Name, t.Weight)
		}
		for _, u := range n.Track[:i] {
			if u.Name == t.Name {
				bad("Track", "object %q listed twice", t.Name)
			}
		}
	}
	return n, errors.Join(errs...)
}
