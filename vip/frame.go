package vip

import (
	"encoding/binary"
	"net/netip"
)

// Ethernet types.
const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
)

var (
	ethBroadcast   = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ethAllNodes    = [6]byte{0x33, 0x33, 0, 0, 0, 1}
	ipv6AllNodes   = netip.MustParseAddr("ff02::1")
	arpOpRequest   = uint16(1)
	arpOpReply     = uint16(2)
	icmpv6NA       = byte(136)
	naFlagRouter   = uint32(1) << 31
	naFlagOverride = uint32(1) << 29
)

// appendGARP appends an Ethernet frame carrying a gratuitous ARP for ip from
// mac: an ARP announcement (RFC 5227 §2.3) when op is a request (target
// hardware address zero), or a gratuitous reply (target = sender) otherwise.
// Both go to the Ethernet broadcast address.
//
//	Ethernet: dst ff:ff:ff:ff:ff:ff, src mac, type 0x0806
//	ARP: htype 1, ptype 0x0800, hlen 6, plen 4, op, sha=mac, spa=ip, tha, tpa=ip
func appendGARP(b []byte, mac [6]byte, ip netip.Addr, op uint16) []byte {
	b = append(b, ethBroadcast[:]...)
	b = append(b, mac[:]...)
	b = binary.BigEndian.AppendUint16(b, etherTypeARP)
	b = binary.BigEndian.AppendUint16(b, 1)      // Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // IPv4
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	ip4 := ip.As4()
	b = append(b, mac[:]...)
	b = append(b, ip4[:]...)
	if op == arpOpReply {
		b = append(b, mac[:]...)
	} else {
		b = append(b, 0, 0, 0, 0, 0, 0)
	}
	b = append(b, ip4[:]...)
	// Pad to the Ethernet minimum (60 bytes without FCS).
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// appendUnsolicitedNA appends an Ethernet frame carrying an unsolicited
// neighbour advertisement (RFC 4861 §7.2.6) for target, from src (an address
// of the interface) to all-nodes ff02::1, hop limit 255, with the Override
// flag, Solicited clear, Router as given, and a Target Link-Layer Address
// option holding mac.
func appendUnsolicitedNA(b []byte, mac [6]byte, src, target netip.Addr, router bool) []byte {
	b = append(b, ethAllNodes[:]...)
	b = append(b, mac[:]...)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv6)
	const icmpLen = 4 + 4 + 16 + 8 // header, flags, target, TLLA option
	// IPv6 header.
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, icmpLen)
	b = append(b, 58, 255) // next header ICMPv6, hop limit 255
	s16, d16 := src.As16(), ipv6AllNodes.As16()
	b = append(b, s16[:]...)
	b = append(b, d16[:]...)
	// ICMPv6.
	start := len(b)
	b = append(b, icmpv6NA, 0, 0, 0)
	flags := naFlagOverride
	if router {
		flags |= naFlagRouter
	}
	b = binary.BigEndian.AppendUint32(b, flags)
	t16 := target.As16()
	b = append(b, t16[:]...)
	b = append(b, 2, 1) // option: target link-layer address, 8 bytes
	b = append(b, mac[:]...)
	cs := icmpv6Checksum(src, ipv6AllNodes, b[start:])
	binary.BigEndian.PutUint16(b[start+2:], cs)
	return b
}

// icmpv6Checksum computes the ICMPv6 checksum (RFC 4443 §2.3) of msg, whose
// checksum field must be zero, with the IPv6 pseudo-header (RFC 8200 §8.1).
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(p []byte) {
		for len(p) >= 2 {
			sum += uint32(p[0])<<8 | uint32(p[1])
			p = p[2:]
		}
		if len(p) == 1 {
			sum += uint32(p[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	sum += uint32(len(msg)) // upper-layer length (32 bits; high half zero)
	sum += 58               // next header
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
