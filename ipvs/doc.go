// Package ipvs manages the Linux IP Virtual Server as desired state,
// reconciled against the kernel over generic netlink with minimal operations.
//
// The model is a [State]: virtual [Service]s keyed by [ServiceKey]
// (protocol TCP, UDP or SCTP with address and port, or a firewall mark;
// IPv4 or IPv6), each with a [Scheduler] and its flags, [Persistence], and
// real servers ([Destination]) with weight, forwarding method (NAT, direct
// routing, tunnel with ipip/gue/gre encapsulation) and connection
// thresholds; plus global [Timeouts]. [Group] expands keepalived's
// virtual_server_group.
//
// # Quick start
//
//	m, err := ipvs.Dial(ctx, ipvs.Config{})       // Linux, CAP_NET_ADMIN, ip_vs loaded
//	changes, err := m.Apply(ctx, desired)          // minimal operations
//	...
//	m.Close()                                      // removes only what m added
//
// [Plan] is the pure core: from the current and desired states and what
// the caller owns, it returns the [Op]s to perform. An unchanged service
// gets no operation; a weight, threshold or forwarding change is an update,
// never a delete and re-add, so live connections survive; services and real
// servers that are no longer desired are removed, or drained to weight 0
// and removed once idle, but only when owned. A [Manager] runs plans
// through a [Kernel] and tracks ownership ([Owned]).
//
// [Policy] applies keepalived's virtual_server health semantics to check
// results from any source: quorum with hysteresis and hooks, sorry server,
// inhibit_on_failure, alpha, omega and dynamic weights. Its
// [Policy.Service] is the desired service to apply.
//
// Sync daemons ([SyncDaemon]) start and stop through the Manager, so a
// caller can follow VRRP state; [Manager.State] returns per-service and
// per-real-server counters and statistics.
//
// # Testing
//
// Package ipvstest has an in-memory [Kernel] that holds state and rejects
// what Linux rejects, with the same errors ([ErrExist], [ErrNoService],
// [ErrNoDestination], [ErrNoModule], [ErrInvalid]); one table of
// conformance cases runs against both. The TestKernel* tests need the
// ip_vs module and change the whole IPVS table, so they run only in the
// project's qemu VM:
//
//	go build -o bin/vmexec ./internal/cmd/vmexec
//	CGO_ENABLED=0 go test -count=1 -exec $PWD/bin/vmexec -run '^TestKernel' -v ./ipvs/
//
// # Concurrency
//
// A Manager is safe for concurrent use; its calls are serialized, and it
// has no callbacks. [Netlink] (and ipvsmoby.Kernel) are safe for concurrent
// use. A Policy is not: drive it from one goroutine. Its hooks
// (OnQuorumUp, OnRealServerDown, ...) run synchronously inside the Set,
// SetWeight or Shutdown call that caused them and must not call back into
// the Policy; they may call a Manager, which does not hold the Policy.
//
// Errors start with "ipvs: " once. Kernel errors wrap the sentinels above;
// what the kernel or OS lacks wraps [ErrNotSupported], which matches
// errors.ErrUnsupported; a closed Manager or Netlink returns errors
// wrapping [ErrClosed], which is net.ErrClosed.
//
// # Linux
//
// [Netlink] speaks the IPVS generic netlink family itself (x/sys/unix). It
// never loads modules: [Open] fails with [ErrNotSupported] when the kernel
// has no IPVS. Every call runs on its own goroutine and returns when its
// context ends, even if the kernel never answers. That hand-off costs, on
// the VM's emulated CPU, as much as a netlink round trip, so
// [Netlink.ExecAll] runs a whole plan, and State a whole dump, on one
// goroutine. On other systems Open and Dial return ErrNotSupported.
//
// # Why not github.com/moby/ipvs
//
// The project named moby/ipvs (v1.1.0) as the netlink dependency, and
// package ipvsmoby still adapts a moby handle to [Kernel] for programs that
// already hold one (the same conformance cases run against both in the VM);
// it is a package of its own so that importing ipvs pulls in neither moby
// nor logrus. The
// package's own socket is the default because moby cannot keep this
// package's promises:
//
//   - Features. moby sends no tunnel type, tunnel port or tunnel flags
//     (GUE, GRE, checksums) and no real-server address family (so no IPv6
//     real server behind an IPv4 service); it has no sync-daemon or zero
//     commands, reads only 32-bit statistics and does not read back the
//     persistence engine.
//   - Bounded calls. moby calls take no context, and their receive loop
//     retries until the kernel answers or the handle is closed, so a stuck
//     call blocks its caller; here every call gives up when its context
//     ends (Manager calls are bounded by [Config].CallTimeout). The kernel really does stay
//     silent in one case: stopping a sync daemon whose thread never ran
//     (see [Netlink.StopDaemon]).
//   - No side effects. moby.New runs modprobe and logs through logrus when
//     ip_vs is missing, and then succeeds; Open neither loads modules nor
//     logs, and fails with ErrNotSupported.
//
// Kernel fact worth knowing at scale: deleted real servers stay in the
// kernel's "dest trash" for a while, and every real-server add scans it, so
// re-adding tens of thousands of real servers right after deleting as many
// is several times slower than into a fresh table (any tool, ipvsadm too).
package ipvs
