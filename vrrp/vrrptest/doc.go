// Package vrrptest provides tools for testing code built on package vrrp:
// a fake [Clock], an in-memory [Network] of transports to run real
// [vrrp.Instance]s without sockets, and [LAN], a deterministic
// discrete-event simulator of routers running [vrrp.Machine]s over links
// with loss, delay and partitions, plus a seeded scenario runner that
// checks VRRP invariants ([RunScenario]).
//
// Nothing here opens a socket or sleeps on real time.
package vrrptest
