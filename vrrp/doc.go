// Package vrrp implements the Virtual Router Redundancy Protocol, versions 2
// (RFC 3768) and 3 (RFC 5798, RFC 9568), for IPv4 and IPv6.
package vrrp
