// Package vip manages virtual IP addresses, routes and rules on Linux
// interfaces and announces them with gratuitous ARP (RFC 5227 style) and
// unsolicited neighbour advertisements (RFC 4861 §7.2.6), including VMAC
// (RFC 5798 §7.3 virtual MAC) macvlan interfaces.
package vip
