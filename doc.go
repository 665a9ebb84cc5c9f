// Package keepalived is the documentation root of keepalived-go: VRRP, IPVS,
// BFD, health checks and virtual IP addresses as importable Go packages, plus
// a keepalived-compatible daemon built from them. It contains no code.
//
// # Packages
//
//   - [github.com/nux-root/keepalived-go/vrrp]: the Virtual Router Redundancy
//     Protocol, versions 2 (RFC 3768) and 3 (RFC 5798, RFC 9568): packet codec,
//     a pure per-instance state machine, sync groups, priority tracking and a
//     runner driven by an injected clock and transport.
//   - [github.com/nux-root/keepalived-go/vip]: virtual addresses, routes and
//     rules on Linux interfaces, gratuitous ARP (RFC 5227 style), unsolicited
//     neighbour advertisements (RFC 4861) and VMAC (macvlan) interfaces.
//   - [github.com/nux-root/keepalived-go/bfd]: Bidirectional Forwarding
//     Detection (RFC 5880), single-hop (RFC 5881) and multi-hop (RFC 5883).
//   - [github.com/nux-root/keepalived-go/check]: health checkers (TCP, HTTP,
//     TLS, SMTP, DNS, UDP, ICMP, script, file) and a scheduler with retries,
//     rise and fall counts.
//   - [github.com/nux-root/keepalived-go/ipvs]: desired-state management of
//     the Linux IP Virtual Server with minimal-diff reconciliation and
//     keepalived's virtual_server health policy.
//
// # Composition
//
// Packages never import one another; callers compose them. A vrrp instance
// reports "became master" and the caller adds addresses with vip; check
// monitors and bfd sessions report up and down, which the caller feeds into
// vrrp priority tracking or into the ipvs health policy.
//
// # Time, transports and testing
//
// The state machines (vrrp, bfd, the check scheduler, the ipvs planner) are
// pure: time comes from an injected clock and packets from an injected
// transport, so they can be stepped in tests without sockets, root or sleeps.
// The vrrptest and bfdtest packages offer in-memory networks for users'
// own tests.
//
// # Privileges and Linux requirements
//
// Sending VRRP needs CAP_NET_RAW; changing addresses, routes, IPVS and VMAC
// interfaces needs CAP_NET_ADMIN. IPVS needs the ip_vs kernel modules.
//
// # Concurrency and lifecycle
//
// Every long-lived object either runs under a context (Run) or has Close, and
// leaves no goroutine behind. Callbacks such as transition hooks run on the
// object's own loop goroutine and must return quickly.
//
// # Relation to keepalived
//
// keepalived-go is a clean-room implementation from the RFCs and keepalived's
// documentation; it reads keepalived.conf but shares no code with keepalived.
package keepalived
