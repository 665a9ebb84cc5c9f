package bfd

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Version is the only BFD protocol version (RFC 5880 §4.1). The codec always
// writes it and rejects any other version on decode.
const Version = 1

// Well-known UDP ports (RFC 5881 §4, RFC 5883 §5).
const (
	PortSingleHop = 3784
	PortMultiHop  = 4784
	// Source ports for control packets are taken from this range (RFC 5881 §4).
	SourcePortMin = 49152
	SourcePortMax = 65535
)

// HeaderLen is the length of the mandatory section of a control packet.
const HeaderLen = 24

// MaxPacketLen is the longest control packet this codec produces: the
// mandatory section plus the largest authentication section (keyed SHA1).
const MaxPacketLen = HeaderLen + sha1AuthLen

// ErrInvalidPacket is wrapped by every decode and validation error.
var ErrInvalidPacket = errors.New("invalid packet")

// ParseError reports a malformed control packet: the field and its byte
// offset. It wraps [ErrInvalidPacket].
type ParseError struct {
	Field  string
	Offset int
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("bfd: invalid %s at offset %d: %s", e.Field, e.Offset, e.Reason)
}

// Unwrap returns [ErrInvalidPacket].
func (e *ParseError) Unwrap() error { return ErrInvalidPacket }

// State is a BFD session state (RFC 5880 §4.1, "Sta").
type State uint8

// Session states.
const (
	StateAdminDown State = 0
	StateDown      State = 1
	StateInit      State = 2
	StateUp        State = 3
)

var stateNames = [...]string{"AdminDown", "Down", "Init", "Up"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Diag is a diagnostic code (RFC 5880 §4.1): the reason for the last
// change of the local session state.
type Diag uint8

// Diagnostic codes.
const (
	DiagNone                  Diag = 0 // No Diagnostic
	DiagControlDetectExpired  Diag = 1 // Control Detection Time Expired
	DiagEchoFailed            Diag = 2 // Echo Function Failed
	DiagNeighborDown          Diag = 3 // Neighbor Signaled Session Down
	DiagForwardingPlaneReset  Diag = 4 // Forwarding Plane Reset
	DiagPathDown              Diag = 5 // Path Down
	DiagConcatenatedPathDown  Diag = 6 // Concatenated Path Down
	DiagAdminDown             Diag = 7 // Administratively Down
	DiagReverseConcatPathDown Diag = 8 // Reverse Concatenated Path Down
)

var diagNames = [...]string{
	"no diagnostic",
	"control detection time expired",
	"echo function failed",
	"neighbor signaled session down",
	"forwarding plane reset",
	"path down",
	"concatenated path down",
	"administratively down",
	"reverse concatenated path down",
}

func (d Diag) String() string {
	if int(d) < len(diagNames) {
		return diagNames[d]
	}
	return fmt.Sprintf("Diag(%d)", uint8(d))
}

// ControlPacket is a BFD control packet (RFC 5880 §4.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       My Discriminator                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Your Discriminator                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Desired Min TX Interval                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Required Min RX Interval                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Required Min Echo RX Interval                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Auth Len    |    Authentication Data...     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The version is always [Version]; the A bit is set exactly when Auth is
// non-nil, and Length is computed. Intervals travel in microseconds; finer
// parts of a Duration are truncated.
type ControlPacket struct {
	Diag  Diag
	State State

	Poll                    bool // P
	Final                   bool // F
	ControlPlaneIndependent bool // C
	Demand                  bool // D
	Multipoint              bool // M, must be zero (RFC 5880 §4.1)

	DetectMult        uint8
	MyDiscriminator   uint32
	YourDiscriminator uint32

	DesiredMinTxInterval      time.Duration
	RequiredMinRxInterval     time.Duration
	RequiredMinEchoRxInterval time.Duration

	// Auth is the authentication section, or nil when the A bit is clear.
	Auth Auth
}

var (
	_ encoding.BinaryAppender    = (*ControlPacket)(nil)
	_ encoding.BinaryMarshaler   = (*ControlPacket)(nil)
	_ encoding.BinaryUnmarshaler = (*ControlPacket)(nil)
)

const maxInterval = time.Duration(math.MaxUint32) * time.Microsecond

// Len returns the encoded length of p.
func (p *ControlPacket) Len() int {
	if p.Auth == nil {
		return HeaderLen
	}
	return HeaderLen + p.Auth.authLen()
}

// Validate reports every field of p that cannot be sent: a state or
// diagnostic out of range, a zero detect multiplier or my discriminator, the
// M bit, P and F together, intervals out of range, and an invalid
// authentication section.
func (p *ControlPacket) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("bfd: %s: %s: %w", field, fmt.Sprintf(format, args...), ErrInvalidPacket))
	}
	if p.State > StateUp {
		bad("state", "%d out of range", p.State)
	}
	if p.Diag > 31 {
		bad("diag", "%d does not fit in 5 bits", p.Diag)
	}
	if p.DetectMult == 0 {
		bad("detect mult", "must not be zero")
	}
	if p.MyDiscriminator == 0 {
		bad("my discriminator", "must not be zero")
	}
	if p.Multipoint {
		bad("multipoint", "must be clear")
	}
	if p.Poll && p.Final {
		bad("poll/final", "must not both be set")
	}
	for _, iv := range []struct {
		name string
		d    time.Duration
	}{
		{"desired min tx interval", p.DesiredMinTxInterval},
		{"required min rx interval", p.RequiredMinRxInterval},
		{"required min echo rx interval", p.RequiredMinEchoRxInterval},
	} {
		if iv.d < 0 || iv.d > maxInterval {
			bad(iv.name, "%v out of range", iv.d)
		}
	}
	if p.Auth != nil {
		if err := p.Auth.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AppendBinary appends the encoding of p to b. It validates p first.
// Digests of keyed authentication sections are written as they are in
// p.Auth; use [Sign] on the result to compute them.
func (p *ControlPacket) AppendBinary(b []byte) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *ControlPacket) appendUnchecked(b []byte) []byte {
	flags := byte(p.State) << 6
	if p.Poll {
		flags |= 1 << 5
	}
	if p.Final {
		flags |= 1 << 4
	}
	if p.ControlPlaneIndependent {
		flags |= 1 << 3
	}
	if p.Auth != nil {
		flags |= 1 << 2
	}
	if p.Demand {
		flags |= 1 << 1
	}
	if p.Multipoint {
		flags |= 1
	}
	b = append(b, Version<<5|byte(p.Diag)&0x1f, flags, p.DetectMult, byte(p.Len()))
	b = binary.BigEndian.AppendUint32(b, p.MyDiscriminator)
	b = binary.BigEndian.AppendUint32(b, p.YourDiscriminator)
	b = binary.BigEndian.AppendUint32(b, toMicros(p.DesiredMinTxInterval))
	b = binary.BigEndian.AppendUint32(b, toMicros(p.RequiredMinRxInterval))
	b = binary.BigEndian.AppendUint32(b, toMicros(p.RequiredMinEchoRxInterval))
	if p.Auth != nil {
		b = p.Auth.appendTo(b)
	}
	return b
}

// MarshalBinary returns the encoding of p.
func (p *ControlPacket) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, p.Len()))
}

// UnmarshalBinary decodes b into p, replacing every field. It checks the
// structure (version, length, authentication section) but not the
// reception rules of RFC 5880 §6.8.6, which live in [Session]. b is not
// retained. When p.Auth already holds a section of the decoded type it is
// reused, so decoding into the same value repeatedly does not allocate.
func (p *ControlPacket) UnmarshalBinary(b []byte) error {
	if len(b) < HeaderLen {
		return &ParseError{Field: "length", Offset: 0, Reason: fmt.Sprintf("packet of %d bytes is shorter than %d", len(b), HeaderLen)}
	}
	if v := b[0] >> 5; v != Version {
		return &ParseError{Field: "version", Offset: 0, Reason: fmt.Sprintf("version %d is not 1", v)}
	}
	flags := b[1]
	hasAuth := flags&(1<<2) != 0
	length := int(b[3])
	minLen := HeaderLen
	if hasAuth {
		minLen = HeaderLen + 2
	}
	if length < minLen {
		return &ParseError{Field: "length", Offset: 3, Reason: fmt.Sprintf("length %d is less than %d", length, minLen)}
	}
	if length > len(b) {
		return &ParseError{Field: "length", Offset: 3, Reason: fmt.Sprintf("length %d exceeds the %d bytes received", length, len(b))}
	}
	old := p.Auth
	*p = ControlPacket{
		Diag:                      Diag(b[0] & 0x1f),
		State:                     State(flags >> 6),
		Poll:                      flags&(1<<5) != 0,
		Final:                     flags&(1<<4) != 0,
		ControlPlaneIndependent:   flags&(1<<3) != 0,
		Demand:                    flags&(1<<1) != 0,
		Multipoint:                flags&1 != 0,
		DetectMult:                b[2],
		MyDiscriminator:           binary.BigEndian.Uint32(b[4:]),
		YourDiscriminator:         binary.BigEndian.Uint32(b[8:]),
		DesiredMinTxInterval:      fromMicros(binary.BigEndian.Uint32(b[12:])),
		RequiredMinRxInterval:     fromMicros(binary.BigEndian.Uint32(b[16:])),
		RequiredMinEchoRxInterval: fromMicros(binary.BigEndian.Uint32(b[20:])),
	}
	if !hasAuth {
		return nil
	}
	a, err := decodeAuth(b[HeaderLen:length], old)
	if err != nil {
		return err
	}
	if HeaderLen+a.authLen() != length {
		return &ParseError{Field: "length", Offset: 3, Reason: fmt.Sprintf("length %d does not match auth len %d", length, a.authLen())}
	}
	p.Auth = a
	return nil
}

func toMicros(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	if d >= maxInterval {
		return math.MaxUint32
	}
	return uint32(d / time.Microsecond)
}

func fromMicros(us uint32) time.Duration { return time.Duration(us) * time.Microsecond }
