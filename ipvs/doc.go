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
// A Manager is safe for concurrent use; its calls are serialized. A Policy
// is not: drive it from one goroutine.
//
// # Linux
//
// [Netlink] speaks the IPVS generic netlink family directly (x/sys/unix),
// including what github.com/moby/ipvs lacks: tunnel types, sync daemons,
// zeroing counters, 64-bit statistics. It never loads modules: [Open] fails
// with [ErrNotSupported] when the kernel has no IPVS. Every call runs on
// its own goroutine and returns when its context ends, even if the kernel
// never answers. On other systems Open and Dial return ErrNotSupported.
// [Moby] adapts a github.com/moby/ipvs handle to [Kernel] for programs that
// already use one, within moby's limits.
//
// Kernel fact worth knowing at scale: deleted real servers stay in the
// kernel's "dest trash" for a while, and every real-server add scans it, so
// re-adding tens of thousands of real servers right after deleting as many
// is several times slower than into a fresh table (any tool, ipvsadm too).
package ipvs
