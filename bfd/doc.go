// Package bfd implements Bidirectional Forwarding Detection (RFC 5880) over
// single-hop (RFC 5881) and multi-hop (RFC 5883) UDP.
//
// The package has three layers:
//
//   - [ControlPacket], the control packet codec (RFC 5880 §4), with the
//     authentication sections [SimplePassword], [KeyedMD5] and [KeyedSHA1]
//     (meticulous or not) behind the sealed [Auth] interface, [Sign] and
//     [Verify] for digests and [AuthSeq] for the sequence number window.
//     Decoding into a reused value does not allocate.
//   - [Session], the pure state machine of one session (RFC 5880 §6.8): no
//     goroutines, clock or sockets. Its contract is
//     [Session.Handle](now, [Event]) []Action plus [Session.NextDeadline].
//     Every transition carries a [Reason]; dropped packets are counted by
//     [DropReason].
//   - [Mux], the runner: many sessions on one loop goroutine with one timer
//     (a heap of session deadlines), over one [Transport], demultiplexed by
//     Your Discriminator and, while that is zero, by peer address, interface
//     and hop mode. [ListenUDP] is the Linux transport.
//
// # Quick start
//
//	tr, err := bfd.ListenUDP(bfd.UDPConfig{})
//	m, err := bfd.NewMux(bfd.MuxConfig{OnTransition: func(c bfd.StateChange) {
//		log.Printf("%v: %v -> %v (%v)", c.Peer, c.From, c.To, c.Diag)
//	}}, tr)
//	go m.Run(ctx)
//	discr, err := m.Add(ctx, bfd.SessionConfig{
//		Peer:  netip.MustParseAddr("192.0.2.2"),
//		Local: netip.MustParseAddr("192.0.2.1"),
//		Config: bfd.Config{DesiredMinTxInterval: 50 * time.Millisecond,
//			RequiredMinRxInterval: 50 * time.Millisecond, DetectMultiplier: 3},
//	})
//
// # Timers
//
// While a session is not Up it advertises and uses a transmit interval of at
// least one second (RFC 5880 §6.8.3). On reaching Up, and whenever the
// timers change ([EventSetTimers]), a Poll Sequence runs; a larger transmit
// interval or a smaller receive interval takes effect only when the Final
// arrives. Transmission is jittered by 0–25 % (10–25 % with a detect
// multiplier of 1). The detection time is the remote detect multiplier
// times the larger of our required receive interval and the remote desired
// transmit interval (§6.8.4). Peers may choose the same discriminator.
//
// # Testing
//
// Package bfdtest offers an in-memory [Transport] network with partitions and
// filters, and a fake [Clock]. A Mux with a nil Clock inside a
// testing/synctest bubble runs on virtual time. The Session can be stepped
// directly with explicit times.
//
// # Concurrency
//
// A Session is not safe for concurrent use. A Mux's methods are safe for
// concurrent use: they run closures on the loop goroutine and wait for
// them, so [MuxConfig.OnTransition], which runs on the loop, must return
// quickly and must not call Mux methods (they would wait for the loop it
// is blocking); it may call anything that does not wait for the Mux, such
// as a check.External's Set. To act on the
// Mux from a transition, use [MuxConfig.Events], which delivers the same
// changes on a channel without blocking the loop, or a goroutine. Stats is
// safe at any time. Run returns after ctx is cancelled, having sent
// AdminDown to every peer, closed the transport and waited for its reader
// goroutine; Mux methods then return errors wrapping [ErrClosed].
//
// Errors start with "bfd: " once. [ErrClosed] is net.ErrClosed;
// [ErrNotSupported] matches errors.ErrUnsupported.
//
// # Performance
//
// Per session a Mux holds about 1.1 KB. Decoding a packet takes ~15 ns and
// handling it in a Session ~60 ns, without allocating; the cost of a running
// Mux is dominated by the send and receive system calls and goroutine
// wake-ups. Measured with BenchmarkInteropHold (2 vCPUs, shared): 100
// sessions at 50 ms × 3 against FRR bfdd cost this process 15–18 % of one
// core (bfdd itself 50–63 %, two bfdd peered with each other 17–45 % each);
// at 10 ms × 3, 38–45 %, or 24 % with GOMAXPROCS=1, which suits a process
// that mostly runs BFD.
//
// # Linux
//
// [ListenUDP] binds UDP ports 3784 and 4784, which needs no privilege
// (UDPConfig.Interface, SO_BINDTODEVICE, may need CAP_NET_RAW). Packets are sent with TTL/hop limit 255 and TOS
// 0xc0 from one source port in 49152–65535; received packets report their
// TTL, which single-hop sessions require to be 255 (RFC 5881 §5). On other
// systems ListenUDP returns [ErrNotSupported].
package bfd
