// Package testutil holds the test helpers shared by every package of
// keepalived-go. It is internal: nothing here is promised to users.
//
// # Skipping and KEEPALIVED_GO_REQUIRE_ALL
//
// Privileged tests (TestIntegration* in network namespaces, TestInterop*
// against real peers, TestKernel* needing ip_vs) call the Require helpers
// ([RequireRoot], [RequireCommand], [RequireIPVS]) or [Skip]. As a normal
// user they skip with a reason. When the environment variable
// KEEPALIVED_GO_REQUIRE_ALL is set to 1 (make test does this) every skip
// becomes a test failure, so nothing passes by skipping.
//
// # Network namespaces
//
// [NewNetNS] creates a named namespace ("kgo-" plus random hex) with lo up
// and removes it in t.Cleanup, after killing the processes the test started
// in it. [NewPair] joins two fresh namespaces with a veth pair ("eth0" on both
// sides) addressed from the documentation ranges 192.0.2.0/24 and
// 2001:db8::/64; [NewLAN] plugs n namespaces into one bridge instead. Both
// return once every link is up and able to send (see [Link]).
// [NetNS.Do] runs a function on a dedicated, locked OS thread
// switched into the namespace; the calling goroutine's thread never changes
// namespace. [NetNS.Loss] and [NetNS.Partition] inject packet loss with
// nftables netdev tables.
//
// # Captures and peers
//
// [StartCapture] records a pcap inside a namespace, [ExpertInfo] and
// [TsharkFields] inspect it with tshark. [StartKeepalived], [StartBFDD] and
// [StartVRRPD] run real keepalived, FRR bfdd and FRR zebra+vrrpd peers with
// private pid, socket and config paths, and report their state.
//
// Everything a helper creates is removed in t.Cleanup, on every exit path.
package testutil
