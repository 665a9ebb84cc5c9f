package bfd

import (
	"crypto/md5" //nolint:gosec // RFC 5880 §6.7.3 mandates MD5
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// AuthType is the authentication type of a control packet (RFC 5880 §4.1).
type AuthType uint8

// Authentication types.
const (
	AuthNone                  AuthType = 0 // reserved on the wire; no authentication
	AuthSimplePassword        AuthType = 1
	AuthKeyedMD5              AuthType = 2
	AuthMeticulousKeyedMD5    AuthType = 3
	AuthKeyedSHA1             AuthType = 4
	AuthMeticulousKeyedSHA1   AuthType = 5
	md5AuthLen                         = 24
	sha1AuthLen                        = 28
	maxPasswordLen                     = 16
	simpleAuthHeaderLen                = 3
	keyedAuthHeaderLen                 = 8 // type, len, key ID, reserved, sequence number
	maxAuthenticatedPacketLen          = HeaderLen + sha1AuthLen
	errAuthPrefix                      = "bfd: auth: "
	authOffset                         = HeaderLen
	authDigestOffset                   = HeaderLen + keyedAuthHeaderLen
	authLenOffset                      = HeaderLen + 1
)

var authTypeNames = [...]string{"none", "simple password", "keyed MD5", "meticulous keyed MD5", "keyed SHA1", "meticulous keyed SHA1"}

func (t AuthType) String() string {
	if int(t) < len(authTypeNames) {
		return authTypeNames[t]
	}
	return fmt.Sprintf("AuthType(%d)", uint8(t))
}

// Meticulous reports whether t requires the sequence number to increase
// with every packet.
func (t AuthType) Meticulous() bool {
	return t == AuthMeticulousKeyedMD5 || t == AuthMeticulousKeyedSHA1
}

// ErrAuth is wrapped by every authentication failure reported by [Verify].
var ErrAuth = errors.New("authentication failed")

// Auth is an authentication section (RFC 5880 §4.2–4.4). It is sealed: the
// implementations are [*SimplePassword], [*KeyedMD5] and [*KeyedSHA1].
type Auth interface {
	// Type returns the authentication type carried on the wire.
	Type() AuthType
	// KeyID returns the Auth Key ID.
	KeyID() uint8
	authLen() int
	appendTo(b []byte) []byte
	validate() error
	unmarshal(b []byte) error
}

// SimplePassword is the simple password authentication section (§4.2).
type SimplePassword struct {
	AuthKeyID uint8
	// Password is 1 to 16 bytes. Decoding reuses its backing array.
	Password []byte
}

// KeyedMD5 is the keyed MD5 or meticulous keyed MD5 section (§4.3).
type KeyedMD5 struct {
	AuthKeyID  uint8
	Meticulous bool
	Sequence   uint32
	Digest     [16]byte
}

// KeyedSHA1 is the keyed SHA1 or meticulous keyed SHA1 section (§4.4).
type KeyedSHA1 struct {
	AuthKeyID  uint8
	Meticulous bool
	Sequence   uint32
	Hash       [20]byte
}

// Type implements [Auth].
func (*SimplePassword) Type() AuthType { return AuthSimplePassword }

// KeyID implements [Auth].
func (a *SimplePassword) KeyID() uint8 { return a.AuthKeyID }

func (a *SimplePassword) authLen() int { return simpleAuthHeaderLen + len(a.Password) }

func (a *SimplePassword) appendTo(b []byte) []byte {
	b = append(b, byte(AuthSimplePassword), byte(a.authLen()), a.AuthKeyID)
	return append(b, a.Password...)
}

func (a *SimplePassword) validate() error {
	if n := len(a.Password); n < 1 || n > maxPasswordLen {
		return fmt.Errorf(errAuthPrefix+"password length %d not in 1..16: %w", n, ErrInvalidPacket)
	}
	return nil
}

func (a *SimplePassword) unmarshal(b []byte) error {
	if len(b) < simpleAuthHeaderLen+1 || len(b) > simpleAuthHeaderLen+maxPasswordLen {
		return &ParseError{Field: "auth len", Offset: authLenOffset, Reason: fmt.Sprintf("simple password section of %d bytes", len(b))}
	}
	a.AuthKeyID = b[2]
	a.Password = append(a.Password[:0], b[3:]...)
	return nil
}

// Type implements [Auth].
func (a *KeyedMD5) Type() AuthType { return keyedType(AuthKeyedMD5, a.Meticulous) }

// KeyID implements [Auth].
func (a *KeyedMD5) KeyID() uint8 { return a.AuthKeyID }

func (a *KeyedMD5) authLen() int { return md5AuthLen }

func (a *KeyedMD5) appendTo(b []byte) []byte {
	return appendKeyed(b, a.Type(), a.AuthKeyID, a.Sequence, a.Digest[:])
}

func (a *KeyedMD5) validate() error { return nil }

func (a *KeyedMD5) unmarshal(b []byte) error {
	return unmarshalKeyed(b, "keyed MD5", &a.AuthKeyID, &a.Meticulous, &a.Sequence, a.Digest[:])
}

// Type implements [Auth].
func (a *KeyedSHA1) Type() AuthType { return keyedType(AuthKeyedSHA1, a.Meticulous) }

// KeyID implements [Auth].
func (a *KeyedSHA1) KeyID() uint8 { return a.AuthKeyID }

func (a *KeyedSHA1) authLen() int { return sha1AuthLen }

func (a *KeyedSHA1) appendTo(b []byte) []byte {
	return appendKeyed(b, a.Type(), a.AuthKeyID, a.Sequence, a.Hash[:])
}

func (a *KeyedSHA1) validate() error { return nil }

func (a *KeyedSHA1) unmarshal(b []byte) error {
	return unmarshalKeyed(b, "keyed SHA1", &a.AuthKeyID, &a.Meticulous, &a.Sequence, a.Hash[:])
}

// keyedType returns plain, or its meticulous variant, which RFC 5880 §4.1
// numbers one after it.
func keyedType(plain AuthType, meticulous bool) AuthType {
	if meticulous {
		return plain + 1
	}
	return plain
}

// appendKeyed appends a keyed MD5 or SHA1 section (§4.3, §4.4): type, len,
// key ID, reserved, sequence number, digest.
func appendKeyed(b []byte, t AuthType, keyID uint8, seq uint32, digest []byte) []byte {
	b = append(b, byte(t), byte(keyedAuthHeaderLen+len(digest)), keyID, 0)
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, digest...)
}

// unmarshalKeyed decodes the keyed MD5 or SHA1 section b, which must be as
// long as the section with a digest of len(digest) bytes.
func unmarshalKeyed(b []byte, name string, keyID *uint8, meticulous *bool, seq *uint32, digest []byte) error {
	if want := keyedAuthHeaderLen + len(digest); len(b) != want {
		return &ParseError{Field: "auth len", Offset: authLenOffset, Reason: fmt.Sprintf("%s section of %d bytes, want %d", name, len(b), want)}
	}
	*meticulous = AuthType(b[0]).Meticulous()
	*keyID = b[2]
	*seq = binary.BigEndian.Uint32(b[4:])
	copy(digest, b[keyedAuthHeaderLen:])
	return nil
}

// sequence returns the sequence number of a keyed section; ok is false for
// a simple password, which has none.
func sequence(a Auth) (seq uint32, ok bool) {
	switch a := a.(type) {
	case *KeyedMD5:
		return a.Sequence, true
	case *KeyedSHA1:
		return a.Sequence, true
	}
	return 0, false
}

// setSequence sets the sequence number of a keyed section; a simple
// password is left as it is.
func setSequence(a Auth, seq uint32) {
	switch a := a.(type) {
	case *KeyedMD5:
		a.Sequence = seq
	case *KeyedSHA1:
		a.Sequence = seq
	}
}

// decodeAuth decodes the authentication section in b (everything after the
// mandatory section up to Length), reusing old when it has the right type.
func decodeAuth(b []byte, old Auth) (Auth, error) {
	if len(b) < 2 {
		return nil, &ParseError{Field: "auth len", Offset: authLenOffset, Reason: "authentication section truncated"}
	}
	alen := int(b[1])
	if alen < 2 || alen > len(b) {
		return nil, &ParseError{Field: "auth len", Offset: authLenOffset, Reason: fmt.Sprintf("auth len %d with %d bytes available", alen, len(b))}
	}
	b = b[:alen]
	var a Auth
	switch AuthType(b[0]) {
	case AuthSimplePassword:
		a = reuse[SimplePassword](old)
	case AuthKeyedMD5, AuthMeticulousKeyedMD5:
		a = reuse[KeyedMD5](old)
	case AuthKeyedSHA1, AuthMeticulousKeyedSHA1:
		a = reuse[KeyedSHA1](old)
	default:
		return nil, &ParseError{Field: "auth type", Offset: authOffset, Reason: fmt.Sprintf("unknown auth type %d", b[0])}
	}
	if err := a.unmarshal(b); err != nil {
		return nil, err
	}
	return a, nil
}

// reuse returns old if it is a *T, else a new T.
func reuse[T any, P interface {
	*T
	Auth
}](old Auth) P {
	if a, ok := old.(P); ok {
		return a
	}
	return new(T)
}

// authSection returns the auth type and the section of an encoded packet.
func authSection(pkt []byte) (AuthType, []byte, error) {
	if len(pkt) < HeaderLen+2 || pkt[1]&(1<<2) == 0 {
		return AuthNone, nil, fmt.Errorf(errAuthPrefix+"packet has no authentication section: %w", ErrAuth)
	}
	length := int(pkt[3])
	if length > len(pkt) || length < HeaderLen+2 {
		return AuthNone, nil, fmt.Errorf(errAuthPrefix+"bad length %d: %w", length, ErrInvalidPacket)
	}
	sec := pkt[HeaderLen:length]
	t := AuthType(sec[0])
	want := 0
	switch t {
	case AuthKeyedMD5, AuthMeticulousKeyedMD5:
		want = md5AuthLen
	case AuthKeyedSHA1, AuthMeticulousKeyedSHA1:
		want = sha1AuthLen
	case AuthSimplePassword:
		if int(sec[1]) < simpleAuthHeaderLen+1 || int(sec[1]) > len(sec) {
			return t, nil, fmt.Errorf(errAuthPrefix+"bad simple password length: %w", ErrInvalidPacket)
		}
		return t, sec[:sec[1]], nil
	default:
		return t, nil, fmt.Errorf(errAuthPrefix+"unknown type %d: %w", t, ErrInvalidPacket)
	}
	if int(sec[1]) != want || len(sec) != want {
		return t, nil, fmt.Errorf(errAuthPrefix+"%v section length %d, want %d: %w", t, sec[1], want, ErrInvalidPacket)
	}
	return t, sec, nil
}

func checkKey(t AuthType, key []byte) error {
	maxLen := maxPasswordLen
	if t == AuthKeyedSHA1 || t == AuthMeticulousKeyedSHA1 {
		maxLen = 20
	}
	if len(key) < 1 || len(key) > maxLen {
		return fmt.Errorf(errAuthPrefix+"%v key length %d not in 1..%d: %w", t, len(key), maxLen, ErrInvalidPacket)
	}
	return nil
}

// Sign computes the digest of an encoded control packet carrying a keyed
// MD5 or keyed SHA1 section, in place, with key (RFC 5880 §6.7.3, §6.7.4):
// the key, zero-padded to the digest size, stands in the digest field while
// the hash of the whole packet is computed. For a simple password section
// Sign only checks that the packet carries key. It does not allocate.
func Sign(pkt []byte, key []byte) error {
	t, sec, err := checkPassword(pkt, key)
	if err != nil || t == AuthSimplePassword {
		return err
	}
	n := HeaderLen + len(sec)
	var sum [sha1.Size]byte
	copy(pkt[authDigestOffset:n], keyedDigest(t, pkt[:n], key, &sum))
	return nil
}

// Verify checks the authentication section of an encoded control packet
// against key (RFC 5880 §6.7.2–6.7.4). It checks the password or digest,
// not the sequence number (see [AuthSeq]). It does not modify pkt and
// does not allocate. Failures wrap [ErrAuth].
func Verify(pkt []byte, key []byte) error {
	t, sec, err := checkPassword(pkt, key)
	if err != nil || t == AuthSimplePassword {
		return err
	}
	var buf [maxAuthenticatedPacketLen]byte
	n := copy(buf[:], pkt[:HeaderLen+len(sec)])
	var sum [sha1.Size]byte
	if subtle.ConstantTimeCompare(keyedDigest(t, buf[:n], key, &sum), pkt[authDigestOffset:n]) != 1 {
		return fmt.Errorf(errAuthPrefix+"%v digest mismatch: %w", t, ErrAuth)
	}
	return nil
}

// checkPassword returns the auth type and section of pkt after checking
// that key suits the type and, for a simple password, that the packet
// carries key.
func checkPassword(pkt, key []byte) (AuthType, []byte, error) {
	t, sec, err := authSection(pkt)
	if err != nil {
		return t, nil, err
	}
	if err := checkKey(t, key); err != nil {
		return t, nil, err
	}
	if t == AuthSimplePassword && subtle.ConstantTimeCompare(sec[simpleAuthHeaderLen:], key) != 1 {
		return t, nil, fmt.Errorf(errAuthPrefix+"wrong password: %w", ErrAuth)
	}
	return t, sec, nil
}

// keyedDigest puts key, zero-padded, in the digest field of pkt (an encoded
// packet ending with its keyed section) and returns the MD5 or SHA1 hash of
// the result (by type t), stored in sum.
func keyedDigest(t AuthType, pkt, key []byte, sum *[sha1.Size]byte) []byte {
	digest := pkt[authDigestOffset:]
	clear(digest)
	copy(digest, key)
	if t == AuthKeyedMD5 || t == AuthMeticulousKeyedMD5 {
		s := md5.Sum(pkt) //nolint:gosec // mandated by RFC 5880
		return sum[:copy(sum[:], s[:])]
	}
	*sum = sha1.Sum(pkt) //nolint:gosec // mandated by RFC 5880
	return sum[:]
}

// AuthSeq is the receive-side sequence number state of a session
// (bfd.RcvAuthSeq and bfd.AuthSeqKnown, RFC 5880 §6.7.3, §6.7.4). The zero
// value knows no sequence number.
type AuthSeq struct {
	Known bool
	Last  uint32
}

// Accept checks seq against the window and, if it is acceptable, records
// it. With a known sequence number, keyed authentication accepts Last to
// Last+3·detectMult and meticulous authentication Last+1 to Last+3·detectMult
// (modulo 2^32). An unknown sequence number accepts anything.
func (s *AuthSeq) Accept(seq uint32, meticulous bool, detectMult uint8) bool {
	if s.Known {
		d := seq - s.Last
		lo := uint32(0)
		if meticulous {
			lo = 1
		}
		if d < lo || d > 3*uint32(detectMult) {
			return false
		}
	}
	s.Known, s.Last = true, seq
	return true
}
