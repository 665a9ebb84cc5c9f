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
// The README's examples/embed is a complete program: the Linux transport,
// [Instance.Watch] feeding package vip, and SIGTERM handling.
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
// A Machine (and a Group) is not safe for concurrent use: one goroutine
// drives it. Every method of an Instance is safe for concurrent use:
//
//   - Name, VRID, State, Priority, Master, Accept and Stats read a
//     snapshot;
//   - SetPriority, SetTracked, ReportMasterDown and Update are queued to
//     the loop, applied in order, and never block (Update validates at
//     once and returns its error);
//   - Watch returns a channel fed from an unbounded queue: a slow reader
//     never blocks the loop;
//   - Run blocks until ctx is cancelled, then (a MASTER having sent
//     priority 0) closes the transport, waits for its goroutines and
//     returns nil; it returns [ErrRunning] if called twice.
//
// The hooks (Config.OnTransition, Config.OnLowerPriority) run on the loop
// goroutine, in order, and must return quickly: they may call any method
// of the Instance except Run (the mutators are queued, so none blocks),
// but must not wait for the Instance, for example on a Watch channel or on
// Run returning. Do slow work (netlink, scripts) on another goroutine:
// [Instance.Watch] is that queue.
//
// A [Conn] and its Transports are safe for concurrent use; Close unblocks
// every ReadFrom, after which operations return [ErrClosed].
//
// # Linux
//
// [Listen] opens the raw-socket transport (IP protocol 112, multicast
// group membership, TTL 255) on Linux; on other systems it returns an
// error wrapping [ErrNotSupported] (and [errors.ErrUnsupported]).
// Everything else builds and runs on any GOOS.
package vrrp
