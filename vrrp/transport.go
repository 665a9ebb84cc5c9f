package vrrp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Meta describes a received VRRP message (payload only, no IP header).
type Meta struct {
	// Src is the IP source address of the packet. For IPv6 it is normally
	// the sender's link-local address. It is used for the VRRPv3
	// pseudo-header checksum, for the tie-break on equal priority and to
	// match unicast peers.
	Src netip.Addr
	// Dst is the IP destination address of the packet: the VRRP multicast
	// group (224.0.0.18 or ff02::12) or, for unicast, our own address. It is
	// used for the VRRPv3 pseudo-header checksum.
	Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit the packet arrived with, or -1
	// if the transport cannot tell (the TTL check is then skipped).
	TTL int
	// IfIndex is the index of the interface the packet arrived on, or 0.
	IfIndex int
}

// Transport moves VRRP payloads. ReadFrom blocks until a packet or Close.
//
// A Transport carries VRRP messages only: b passed to WriteTo and returned
// by ReadFrom is the VRRP payload, starting at the version/type byte, with
// no IP header. A Transport must:
//
//   - send with IP protocol 112, TTL / hop limit 255, from the instance's
//     [Config.Source] address (for IPv6, the interface's link-local
//     address), to dst exactly as given: the Instance passes the multicast
//     group ([Config.MulticastGroup], by default [MulticastGroup4]
//     224.0.0.18 or [MulticastGroup6] ff02::12) when [Config.Peers] is
//     empty, and each unicast peer address in turn otherwise (a transport
//     may send unicast with another TTL, as keepalived's unicast_ttl);
//   - never modify the payload: the Instance has already filled in the
//     checksum (VRRPv3 checksums cover a pseudo-header built from
//     Config.Source and dst, so the transport must send from exactly that
//     source);
//   - on receive, strip the IP header and report the IP source and
//     destination addresses, the received TTL / hop limit (or -1 if
//     unknown) and the interface index in [Meta];
//   - deliver packets for every VRID; the Instance drops (and counts) those
//     for other VRIDs, so a shared socket may instead demultiplex by VRID
//     (byte 1 of the payload) and hand each Instance only its own;
//   - make ReadFrom return promptly with an error once Close is called;
//     the Instance treats a ReadFrom error after Close as the end of
//     reading, and any other error as transient (it counts it and reads
//     again, after a short back-off on repeated errors);
//   - be safe for one goroutine calling ReadFrom while another calls
//     WriteTo and a third calls Close.
//
// A short buffer passed to ReadFrom may truncate the packet; the Instance
// always passes at least 1500 bytes.
type Transport interface {
	ReadFrom(b []byte) (n int, m Meta, err error)
	WriteTo(b []byte, dst netip.Addr) error
	Close() error
}

// PendingReader is implemented by a [Transport] that can hand over a
// packet it has already received without blocking. When a timer of an
// [Instance] fires, the Instance first processes every packet ReadPending
// returns, so that a runner that wakes late (the process was paused or
// starved, or the clock jumped past Master_Down_Timer) sees the
// advertisements that arrived meanwhile before it acts on the timer: a
// paused BACKUP does not take over from a live master. ReadPending may be
// called while another goroutine is blocked in ReadFrom; each packet is
// returned by one of them. The Transports of [Conn] and of package
// vrrptest implement it.
type PendingReader interface {
	// ReadPending copies a packet already received into b, as ReadFrom
	// does, or reports ok false at once if there is none (or the
	// transport is closed).
	ReadPending(b []byte) (n int, m Meta, ok bool)
}

// BoundTransport is implemented by a [Transport] that is bound to one
// VRID and one source address, as those of [Conn.Transport] and
// [Conn.TransportAH] are. [New] and [Instance.Update] check a
// BoundTransport against the Config: a Config.VRID other than the
// transport's, or a Config.Source other than the transport's, is an
// [ErrInvalidConfig] error (it would send one VRID or source while
// receiving another: a silent dual master). A zero Config.Source is taken
// from the transport. If the transport also has a method Joined(group
// netip.Addr) bool (as Conn's have), a multicast instance whose group
// (Config.MulticastGroup or the default) it has not joined is an error too.
type BoundTransport interface {
	Transport
	// VRID returns the VRID whose advertisements the transport delivers.
	VRID() uint8
	// Source returns the source address of sent packets.
	Source() netip.Addr
}

// checkBound checks (and for a zero Source fills in) c against a
// BoundTransport tr.
func checkBound(c *Config, tr Transport) error {
	b, ok := tr.(BoundTransport)
	if !ok {
		return nil
	}
	var errs []error
	if c.VRID != b.VRID() {
		errs = append(errs, fmt.Errorf("vrrp: config VRID: %d, but the transport is bound to VRID %d: %w", c.VRID, b.VRID(), ErrInvalidConfig))
	}
	src := b.Source().WithZone("").Unmap()
	switch {
	case !c.Source.IsValid():
		c.Source = b.Source()
	case src.IsValid() && c.Source.WithZone("").Unmap() != src:
		errs = append(errs, fmt.Errorf("vrrp: config Source: %v, but the transport sends from %v: %w", c.Source, src, ErrInvalidConfig))
	}
	if j, ok := tr.(interface{ Joined(netip.Addr) bool }); ok && len(c.Peers) == 0 && c.Source.IsValid() {
		g := c.MulticastGroup.WithZone("").Unmap()
		if !g.IsValid() {
			g = MulticastGroup4
			if c.Source.Unmap().Is6() {
				g = MulticastGroup6
			}
		}
		if g.IsMulticast() && !j.Joined(g) {
			errs = append(errs, fmt.Errorf("vrrp: config MulticastGroup: %v not joined by the transport (ConnConfig.MulticastGroups, Conn.JoinGroup): %w", g, ErrInvalidConfig))
		}
	}
	return errors.Join(errs...)
}

// Clock is the source of time for an [Instance]. A nil Clock in [Config]
// means the real clock (package time).
//
// AfterFunc calls f in its own goroutine after d has elapsed; stop prevents
// that call if it has not happened yet and reports whether it did so, like
// [time.Timer.Stop].
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the Clock used when Config.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// The VRRP multicast groups (RFC 5798 §5.1.1.2 and §5.1.2.2).
var (
	MulticastGroup4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	MulticastGroup6 = netip.AddrFrom16([16]byte{0xff, 0x02, 15: 0x12})
)

// ProtocolNumber is the IP protocol number of VRRP.
const ProtocolNumber = 112

// ConnConfig configures [Listen] (the Linux raw-socket transport; Listen
// fails on other platforms).
type ConnConfig struct {
	// Interface is the name of the interface. Required.
	Interface string
	// IPv6 selects IPv6 (ip6:112, ff02::12); otherwise IPv4 (ip4:112,
	// 224.0.0.18).
	IPv6 bool
	// Source is the source address of sent packets. If invalid (zero), the
	// first IPv4 address of the interface, or its IPv6 link-local address,
	// is used. It must be the instances' Config.Source (the VRRPv3 checksum
	// covers it); [Conn.Source] returns the address chosen.
	Source netip.Addr
	// NetNS is the path of a network namespace (e.g. /run/netns/x) in which
	// to open the socket. If empty, the calling thread's namespace is used.
	NetNS string
	// TOS is the IPv4 TOS / IPv6 traffic class. If zero, 0xc0 is used
	// (network control, as keepalived); -1 means 0.
	TOS int
	// MulticastGroups are the multicast groups joined on the interface, of
	// the Conn's family (keepalived's mcast_dst_ip, vrrp_mcast_group4 and
	// vrrp_mcast_group6). If empty, the VRRP group of the family
	// ([MulticastGroup4] 224.0.0.18 or [MulticastGroup6] ff02::12) is
	// joined. [Conn.JoinGroup] joins more later.
	MulticastGroups []netip.Addr
	// UnicastTTL is the TTL / hop limit of unicast advertisements sent
	// (to Config.Peers; keepalived's unicast_ttl), 1-255. If zero, 255 is
	// used. Multicast advertisements always leave with 255, as do AH ones.
	UnicastTTL int
	// QueueLen is the number of received packets buffered per VRID. If
	// zero, 64 is used. Packets arriving on a full queue are dropped and
	// counted.
	QueueLen int
	// Logger receives operational logs. If nil, logs are discarded.
	Logger *slog.Logger
}

// ConnStats are a Conn's counters.
type ConnStats struct {
	Received    uint64 // packets delivered to a VRID's queue
	Sent        uint64
	ReadErrors  uint64 // socket read errors (the reader keeps going)
	WriteErrors uint64
	UnknownVRID uint64 // packets for a VRID without a Transport
	QueueFull   uint64 // packets dropped because a VRID's queue was full
	Short       uint64 // packets too short (or, for AH, malformed)
	// AuthFailures counts AH packets whose ICV did not verify, and
	// packets without AH for a VRID that uses it.
	AuthFailures uint64
}
