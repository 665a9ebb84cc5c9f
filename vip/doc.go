// Package vip manages virtual IP addresses, routes and rules on Linux
// interfaces and announces them with gratuitous ARP (RFC 5227 style) and
// unsolicited neighbour advertisements (RFC 4861 §7.2.6), including VMAC
// (RFC 5798 §7.3 virtual MAC) macvlan interfaces.
//
// # Quick start
//
// A [Manager] works in one network namespace through one netlink handle:
//
//	m, err := vip.New(vip.Config{})          // or Config{NetNS: "/run/netns/x"}
//	defer m.Close()                          // removes exactly what m added
//	a := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
//	err = m.Add(ctx, a)                      // on becoming MASTER
//	err = m.Announce(ctx, "eth0", []netip.Addr{a.Prefix.Addr()})
//	err = m.Remove(ctx, a)                   // on leaving MASTER
//
// # Desired state
//
// [Manager.Apply] takes the whole desired [Set] of addresses, routes and
// rules, reads back what the Manager owns (forgetting what someone else
// removed, so that it is put back), plans the difference with the pure
// [Plan] and performs it: removals (rules, routes, addresses) before
// additions (addresses, routes, rules). Applying the same set again
// changes nothing. [Controller] is the method set a daemon needs; package
// viptest has an in-memory fake of it for tests without root.
//
// # Ownership
//
// The Manager remembers what it added and marks it in the kernel: addresses
// with IFA_PROTO [AddrProtocol] (Linux 6.3+), routes and rules with the
// routing protocol [RouteProtocol] (18, "keepalived" in rt_protos). Add of
// an address that is already present (an operator's) does not take
// ownership, and Remove, RemoveAll and Close never remove an address that
// is no longer marked as ours, so an identical address added by someone
// else survives.
//
// # Events
//
// [Manager.Watch] subscribes to the kernel's link, address and route
// notifications in the Manager's namespace (no polling) and reports links
// added, going up or down and deleted, and the owned addresses and routes
// that someone else removed (checked against a dump of the kernel before
// they are reported, so the Manager's own changes never are). The channel
// is bounded; a reader that falls behind makes the kernel's queue overrun,
// after which Watch subscribes again, reads the state back, reports the
// differences and a [Resynced] event. It ends with its context or Close.
//
// # Accept mode
//
// An [Address] with NoAccept (keepalived's no_accept, vrrp_strict) is put
// in an nftables inet table the Manager owns ([Config.FilterTable],
// "keepalived-go" by default) before it is added: the table's input chain
// drops what is sent to the address and is not VRRP. The table is created
// through netlink (google/nftables, no nft command) with the first such
// address in the Manager's namespace and deleted with the last, by
// RemoveAll and by Close.
//
// # Announcements
//
// [Manager.Announce] follows [AnnouncePolicy], keepalived-compatible: a
// burst of Repeat gratuitous ARP request + reply pairs (IPv4) or
// unsolicited NAs with the Override flag (IPv6) at once, a second burst
// after SecondBurstDelay, and an optional periodic refresh.
// [Manager.AnnounceOnce] sends a single burst (garp_lower_prio_repeat).
//
// # Concurrency
//
// Every method of a [Manager] is safe for concurrent use; the ones that
// change the system (Apply, Add, Remove, the route, rule and VMAC
// methods, RemoveAll, Close) are serialized, and Stats never blocks. The
// Manager has no callbacks: Announce runs one goroutine per interface for
// the delayed bursts and refresh (StopAnnounce, a new Announce on the
// interface, RemoveAll and Close end it), and Watch one goroutine per call
// that delivers on a channel. A Watch reader may call any method,
// including Close, while it handles an event: the watcher never holds the
// Manager's lock while it waits on the channel. Close returns once every
// goroutine it started has ended; methods called after it return
// [ErrClosed] ([net.ErrClosed]), except Remove, RemoveRoute, RemoveRule,
// DeleteVMAC, StopAnnounce, Owned and Stats, which have nothing left to
// do. The same holds for viptest.Fake.
//
// # Errors
//
// Error strings start with "vip: " once. ErrClosed is net.ErrClosed; on
// other systems every method returns [ErrNotSupported], which wraps
// errors.ErrUnsupported, as do the errors of a kernel without nf_tables.
//
// # Linux
//
// Needs CAP_NET_ADMIN (netlink, sysctls) and CAP_NET_RAW (AF_PACKET).
// Sockets are opened inside Config.NetNS on a dedicated locked thread. On
// other systems [New] returns [ErrNotSupported].
//
// # Testing
//
// The frame builders are tested with golden bytes on any OS. The
// TestIntegration tests run as root in throwaway network namespaces and
// check the peer's neighbour table and tshark's dissection of every frame.
package vip
