package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// ChecksumMode selects how a VRRPv3 over IPv4 checksum is computed on send.
// VRRPv2 never uses a pseudo-header and VRRPv3 over IPv6 always does.
type ChecksumMode uint8

const (
	// ChecksumPseudoHeader includes the IPv4 pseudo-header (RFC 5798
	// §5.2.8). keepalived and FRR do this by default.
	ChecksumPseudoHeader ChecksumMode = iota
	// ChecksumNoPseudoHeader covers the VRRP message alone, as in VRRPv2:
	// the RFC 9568 form for IPv4, used by Cisco and Juniper
	// (keepalived's v3_checksum_as_v2).
	ChecksumNoPseudoHeader
)

// String returns the name of the mode.
func (m ChecksumMode) String() string {
	switch m {
	case ChecksumPseudoHeader:
		return "pseudo-header"
	case ChecksumNoPseudoHeader:
		return "no-pseudo-header"
	}
	return "ChecksumMode(" + itoa(int(m)) + ")"
}

// ChecksumAccept selects which VRRPv3 over IPv4 checksum variants a
// receiver accepts.
type ChecksumAccept uint8

const (
	// AcceptEither accepts a checksum computed with or without the IPv4
	// pseudo-header. This is the default.
	AcceptEither ChecksumAccept = iota
	// AcceptConfigured accepts only the variant configured for sending
	// ([Config.Checksum]).
	AcceptConfigured
	// AcceptDetect accepts either variant and switches the variant sent to
	// the one the last valid received advertisement used, so that a router
	// talks to its peers in their own dialect.
	AcceptDetect
)

// String returns the name of the policy.
func (a ChecksumAccept) String() string {
	switch a {
	case AcceptEither:
		return "either"
	case AcceptConfigured:
		return "configured"
	case AcceptDetect:
		return "detect"
	}
	return "ChecksumAccept(" + itoa(int(a)) + ")"
}

// Checksum returns the checksum for the VRRP message msg (exactly the
// message, no padding), treating its checksum field (bytes 6-7) as zero.
// If src and dst are both valid and of one family, the IPv4 or IPv6
// pseudo-header built from them and IP protocol 112 is included (VRRPv3,
// RFC 5798 §5.2.8); otherwise the checksum covers msg alone (VRRPv2, and
// VRRPv3 over IPv4 per RFC 9568 when configured so).
func Checksum(msg []byte, src, dst netip.Addr) uint16 {
	var sum uint32
	if hasPseudoHeader(src, dst) {
		sum = pseudoSum(src, dst, len(msg))
	}
	sum = sumBytes(sum, msg, 6)
	return ^fold(sum)
}

// VerifyChecksum reports whether the checksum field of msg (exactly the
// message, no padding) is correct. For VRRPv2 it checks the plain
// checksum. For VRRPv3 over IPv6 it checks the pseudo-header checksum built
// from src and dst. For VRRPv3 over IPv4 it tries the pseudo-header form
// first and then the form without, and reports the one that matched in
// mode.
func VerifyChecksum(msg []byte, src, dst netip.Addr) (mode ChecksumMode, ok bool) {
	if len(msg) < headerLen {
		return 0, false
	}
	got := binary.BigEndian.Uint16(msg[6:])
	body := sumBytes(0, msg, 6)
	if msg[0]>>4 == 2 {
		return ChecksumNoPseudoHeader, ^fold(body) == got
	}
	if hasPseudoHeader(src, dst) {
		if ^fold(body+pseudoSum(src, dst, len(msg))) == got {
			return ChecksumPseudoHeader, true
		}
		if src.Is6() {
			return ChecksumPseudoHeader, false
		}
	}
	return ChecksumNoPseudoHeader, ^fold(body) == got
}

// sumBytes adds b as big-endian 16-bit words to sum, skipping the word at
// offset skip (the checksum field).
func sumBytes(sum uint32, b []byte, skip int) uint32 {
	i := 0
	for ; i+1 < len(b); i += 2 {
		if i == skip {
			continue
		}
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if i < len(b) {
		sum += uint32(b[i]) << 8
	}
	return sum
}

// hasPseudoHeader reports whether src and dst make a pseudo-header: both
// valid and of one family.
func hasPseudoHeader(src, dst netip.Addr) bool {
	return src.IsValid() && dst.IsValid() && src.Is4() == dst.Is4()
}

func pseudoSum(src, dst netip.Addr, n int) uint32 {
	var sum uint32
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = sumBytes(sum, s[:], -1)
		sum = sumBytes(sum, d[:], -1)
	} else {
		s, d := src.As16(), dst.As16()
		sum = sumBytes(sum, s[:], -1)
		sum = sumBytes(sum, d[:], -1)
	}
	return sum + ProtocolNumber + uint32(n)
}

func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
