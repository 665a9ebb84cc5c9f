// Package vrrp implements the Virtual Router Redundancy Protocol, versions 2
// (RFC 3768) and 3 (RFC 5798, RFC 9568), for IPv4 and IPv6.
//
// The package has three layers:
//
//   - [Packet], the wire codec: [Packet.AppendBinary], [Packet.Decode]
//     (zero allocations into a reused Packet), and the checksums, including
//     the VRRPv3 pseudo-header ([Packet.AppendChecksummed],
//     [VerifyChecksum]) and the RFC 9568 variant without it for IPv4.
//   - [Machine], the pure state machine of one virtual router: no
//     goroutines, no clock, no sockets. Feed it [Event]s with
//     [Machine.Handle] at an explicit time and perform the [Action]s it
//     returns; call it again with [EventTimer] at [Machine.NextDeadline].
//     Every transition carries a [Reason]; every dropped message is counted
//     by [DropReason]. [Group] adds keepalived's sync groups.
//   - [Instance], the runner: one loop goroutine driving a Machine with a
//     [Transport] and a [Clock], reporting transitions through
//     [Config.OnTransition].
//
// # Quick start
//
//	inst, err := vrrp.New(vrrp.Config{
//		VRID:     51,
//		Priority: 150,
//		Source:   netip.MustParseAddr("192.0.2.1"),
//		Addrs:    []netip.Addr{netip.MustParseAddr("192.0.2.100")},
//		OnTransition: func(t vrrp.Transition) {
//			// add or remove the virtual addresses (package vip)
//		},
//	}, transport)
//	if err != nil { ... }
//	err = inst.Run(ctx) // until ctx is cancelled; a master then sends priority 0
//
// VRRP does not add addresses, send gratuitous ARP or run notify scripts:
// its caller does, on OnTransition.
//
// # Testing
//
// Package vrrptest offers a fake [Clock], an in-memory network of
// transports for running Instances in tests (also inside testing/synctest
// bubbles with the real clock), and a deterministic LAN simulator over
// Machines with loss, delay and partitions, plus a seeded scenario runner
// that checks the protocol's invariants.
//
// # Concurrency
//
// A Machine is not safe for concurrent use. An Instance is: State, Stats
// and Priority read a snapshot; SetPriority, SetTracked and Update are
// queued to the loop and never block, so they may be called from
// OnTransition. OnTransition runs on the loop goroutine, in order, and must
// return quickly. Run returns after ctx is cancelled, once its goroutines
// have ended and the transport is closed.
//
// # Linux
//
// [Listen] opens the raw-socket transport (IP protocol 112, multicast
// group membership, TTL 255) on Linux; on other systems it returns an
// error. Everything else builds and runs on any GOOS.
package vrrp
