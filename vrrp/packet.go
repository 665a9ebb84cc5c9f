package vrrp

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// VRRP message layout.
//
// VRRPv2 (RFC 3768 §5.1), IPv4 only:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Adver Int   |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         IP Address (1)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            .....                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (1)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (2)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// VRRPv3 (RFC 5798 §5.1), IPv4 or IPv6:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|(rsvd) |     Max Adver Int     |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     IPvX Address(es)                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// Sizes of the fixed parts of VRRP messages.
const (
	headerLen   = 8
	authDataLen = 8
)

// TypeAdvertisement is the only VRRP message type (RFC 5798 §5.2.2).
const TypeAdvertisement = 1

// Limits of the advertisement interval fields.
const (
	// MaxAdvertIntervalV2 is the largest VRRPv2 interval (8 bits of seconds).
	MaxAdvertIntervalV2 = 255 * time.Second
	// MaxAdvertIntervalV3 is the largest VRRPv3 interval (12 bits of
	// centiseconds).
	MaxAdvertIntervalV3 = 4095 * 10 * time.Millisecond
)

// AuthType is the VRRPv2 authentication type (RFC 3768 §5.3.6, RFC 2338).
type AuthType uint8

// VRRPv2 authentication types.
const (
	AuthNone   AuthType = 0 // no authentication
	AuthSimple AuthType = 1 // simple text password (keepalived auth_type PASS)
	AuthAH     AuthType = 2 // IP Authentication Header (handled by the transport)
)

// String returns the name of the authentication type.
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthSimple:
		return "simple"
	case AuthAH:
		return "ah"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(a))
}

// ErrInvalidPacket is wrapped by every error returned when decoding or
// encoding a malformed [Packet]; see also [*ParseError].
var ErrInvalidPacket = errors.New("invalid packet")

// ParseError describes where decoding a VRRP message failed.
type ParseError struct {
	Field  string // the field that failed, e.g. "version"
	Offset int    // byte offset of that field in the message
	Reason string // what was wrong
}

// Error implements error.
func (e *ParseError) Error() string {
	return "vrrp: " + e.Field + " at offset " + itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns [ErrInvalidPacket].
func (e *ParseError) Unwrap() error { return ErrInvalidPacket }

func itoa(n int) string { return strconv.Itoa(n) }

// Packet is a VRRP advertisement, version 2 or 3.
//
// The address family of a VRRPv3 message is not carried in the message
// itself; it is the family of the enclosing IP packet. [Packet.Decode]
// takes it explicitly; [Packet.UnmarshalBinary] infers it.
type Packet struct {
	// Version is 2 (RFC 3768) or 3 (RFC 5798).
	Version uint8
	// Type is the message type; [TypeAdvertisement] is the only valid one.
	Type uint8
	// VRID is the virtual router identifier, 1-255.
	VRID uint8
	// Priority is the sender's priority: 0 means the master is stopping, 255
	// that the sender owns the addresses.
	Priority uint8
	// AuthType is the VRRPv2 authentication type; zero for VRRPv3.
	AuthType AuthType
	// AdvertInterval is the advertisement interval: whole seconds in
	// VRRPv2, centiseconds in VRRPv3 (the Max Adver Int field).
	AdvertInterval time.Duration
	// Checksum is the checksum field as decoded. It is ignored when
	// encoding: the encoder always computes it.
	Checksum uint16
	// Addrs are the virtual addresses, all IPv4 or all IPv6 (IPv6 only in
	// VRRPv3).
	Addrs []netip.Addr
	// AuthData is the VRRPv2 authentication data (the password for
	// [AuthSimple], zero padded); zero for VRRPv3.
	AuthData [8]byte
}

var (
	_ encoding.BinaryAppender    = (*Packet)(nil)
	_ encoding.BinaryMarshaler   = (*Packet)(nil)
	_ encoding.BinaryUnmarshaler = (*Packet)(nil)
)

// Len returns the encoded length of p in bytes.
func (p *Packet) Len() int {
	n := headerLen
	for _, a := range p.Addrs {
		if a.Is4() {
			n += 4
		} else {
			n += 16
		}
	}
	if p.Version == 2 {
		n += authDataLen
	}
	return n
}

// Validate reports whether p can be encoded.
func (p *Packet) Validate() error {
	switch p.Version {
	case 2, 3:
	default:
		return fmt.Errorf("vrrp: version %d: %w", p.Version, ErrInvalidPacket)
	}
	if p.Type != TypeAdvertisement {
		return fmt.Errorf("vrrp: type %d: %w", p.Type, ErrInvalidPacket)
	}
	if len(p.Addrs) > 255 {
		return fmt.Errorf("vrrp: %d addresses, more than 255: %w", len(p.Addrs), ErrInvalidPacket)
	}
	is6 := false
	for i, a := range p.Addrs {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			return fmt.Errorf("vrrp: address %d (%v) not a plain IPv4 or IPv6 address: %w", i, a, ErrInvalidPacket)
		}
		if i == 0 {
			is6 = a.Is6()
		} else if a.Is6() != is6 {
			return fmt.Errorf("vrrp: address %d (%v): mixed address families: %w", i, a, ErrInvalidPacket)
		}
	}
	if p.Version == 2 {
		if is6 {
			return fmt.Errorf("vrrp: IPv6 addresses in a VRRPv2 message: %w", ErrInvalidPacket)
		}
		if p.AdvertInterval < time.Second || p.AdvertInterval > MaxAdvertIntervalV2 || p.AdvertInterval%time.Second != 0 {
			return fmt.Errorf("vrrp: VRRPv2 advert interval %v not whole seconds in 1s..255s: %w", p.AdvertInterval, ErrInvalidPacket)
		}
	} else {
		if p.AdvertInterval < 0 || p.AdvertInterval > MaxAdvertIntervalV3 || p.AdvertInterval%(10*time.Millisecond) != 0 {
			return fmt.Errorf("vrrp: VRRPv3 advert interval %v not whole centiseconds in 0..40.95s: %w", p.AdvertInterval, ErrInvalidPacket)
		}
	}
	return nil
}

// AppendBinary implements [encoding.BinaryAppender]. It appends the
// encoded message to b, with the checksum computed over the VRRP message
// alone: the VRRPv2 checksum, and for VRRPv3 the variant without
// pseudo-header (RFC 9568 §5.2.8 for IPv4). For the VRRPv3 pseudo-header
// checksum (RFC 5798) use [Packet.AppendChecksummed].
func (p *Packet) AppendBinary(b []byte) ([]byte, error) {
	return p.AppendChecksummed(b, netip.Addr{}, netip.Addr{})
}

// AppendChecksummed appends the encoded message to b. For VRRPv3, if src
// and dst are valid, the checksum includes the IPv4 or IPv6 pseudo-header
// built from them (RFC 5798 §5.2.8); otherwise, and always for VRRPv2, it
// covers the message alone.
func (p *Packet) AppendChecksummed(b []byte, src, dst netip.Addr) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return b, err
	}
	start := len(b)
	var iv uint16
	if p.Version == 2 {
		iv = uint16(p.AdvertInterval / time.Second)
		b = append(b, 2<<4|p.Type, p.VRID, p.Priority, uint8(len(p.Addrs)), uint8(p.AuthType), uint8(iv), 0, 0)
	} else {
		iv = uint16(p.AdvertInterval / (10 * time.Millisecond))
		b = append(b, 3<<4|p.Type, p.VRID, p.Priority, uint8(len(p.Addrs)), uint8(iv>>8)&0x0f, uint8(iv), 0, 0)
	}
	for _, a := range p.Addrs {
		if a.Is4() {
			a4 := a.As4()
			b = append(b, a4[:]...)
		} else {
			a16 := a.As16()
			b = append(b, a16[:]...)
		}
	}
	if p.Version == 2 {
		b = append(b, p.AuthData[:]...)
		src, dst = netip.Addr{}, netip.Addr{}
	}
	sum := Checksum(b[start:], src, dst)
	binary.BigEndian.PutUint16(b[start+6:], sum)
	return b, nil
}

// MarshalBinary implements [encoding.BinaryMarshaler]; see
// [Packet.AppendBinary] for the checksum it computes.
func (p *Packet) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, p.Len()))
}

// UnmarshalBinary implements [encoding.BinaryUnmarshaler]. The address
// family of a VRRPv3 message is inferred: IPv6 if the length is exactly
// that of Count IPv6 addresses, IPv4 otherwise. Prefer [Packet.Decode]
// when the family is known (it always is on receive). See Decode for the
// checks made.
func (p *Packet) UnmarshalBinary(b []byte) error {
	ipv6 := false
	if len(b) >= headerLen && b[0]>>4 == 3 {
		n := int(b[3])
		ipv6 = n > 0 && len(b) == headerLen+16*n
	}
	return p.Decode(b, ipv6)
}

// Decode decodes the VRRP message in b, whose IP packet was IPv6 if ipv6
// is true. It checks structure only: length, version, type, and the
// address count against the length. Trailing bytes (Ethernet padding) are
// ignored. The checksum is stored, not verified: see [VerifyChecksum].
// Decode does not retain b and reuses the capacity of p.Addrs, so decoding
// into a reused Packet does not allocate. On error, p is left partially
// filled.
func (p *Packet) Decode(b []byte, ipv6 bool) error {
	if len(b) < headerLen {
		return &ParseError{Field: "header", Offset: 0, Reason: "message shorter than 8 bytes"}
	}
	v := b[0] >> 4
	if v != 2 && v != 3 {
		return &ParseError{Field: "version", Offset: 0, Reason: "unsupported version " + itoa(int(v))}
	}
	p.Version = v
	p.Type = b[0] & 0x0f
	if p.Type != TypeAdvertisement {
		return &ParseError{Field: "type", Offset: 0, Reason: "unknown type " + itoa(int(p.Type))}
	}
	p.VRID = b[1]
	p.Priority = b[2]
	n := int(b[3])
	p.Checksum = binary.BigEndian.Uint16(b[6:])
	alen := 4
	if v == 2 {
		if ipv6 {
			return &ParseError{Field: "version", Offset: 0, Reason: "VRRPv2 over IPv6"}
		}
		p.AuthType = AuthType(b[4])
		p.AdvertInterval = time.Duration(b[5]) * time.Second
	} else {
		if ipv6 {
			alen = 16
		}
		p.AuthType = 0
		p.AdvertInterval = time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * 10 * time.Millisecond
	}
	need := headerLen + n*alen
	if v == 2 {
		need += authDataLen
	}
	if len(b) < need {
		return &ParseError{Field: "count", Offset: 3, Reason: "address count " + itoa(n) + " needs " + itoa(need) + " bytes, have " + itoa(len(b))}
	}
	if cap(p.Addrs) < n {
		p.Addrs = make([]netip.Addr, n)
	}
	addrs := p.Addrs[:n]
	off := headerLen
	if alen == 4 {
		for i := range addrs {
			addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
			off += 4
		}
	} else {
		for i := range addrs {
			addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
			off += 16
		}
	}
	p.Addrs = addrs
	if v == 2 {
		p.AuthData = [8]byte(b[off : off+8])
	} else {
		p.AuthData = [8]byte{}
	}
	return nil
}

// EncodedLen returns the length of the VRRP message at the start of b as
// given by its version and address count (trailing padding excluded), or
// -1 if b is too short to tell or malformed.
func EncodedLen(b []byte, ipv6 bool) int {
	if len(b) < headerLen {
		return -1
	}
	n := int(b[3])
	switch b[0] >> 4 {
	case 2:
		n = headerLen + 4*n + authDataLen
	case 3:
		if ipv6 {
			n = headerLen + 16*n
		} else {
			n = headerLen + 4*n
		}
	default:
		return -1
	}
	if n > len(b) {
		return -1
	}
	return n
}
