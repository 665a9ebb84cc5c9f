package bfd

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyed builds header+section with the key in the digest field and returns
// the packet with the RFC digest in place (an independent restatement of
// RFC 5880 §6.7.3/§6.7.4 for the golden tests).
func keyed(t testing.TB, hdrAndSection string, key string, sha bool) []byte {
	b := mustHex(t, hdrAndSection)
	dlen := 16
	if sha {
		dlen = 20
	}
	digest := make([]byte, dlen)
	copy(digest, key)
	b = append(b, digest...)
	var sum []byte
	if sha {
		s := sha1.Sum(b)
		sum = s[:]
	} else {
		s := md5.Sum(b)
		sum = s[:]
	}
	copy(b[len(b)-dlen:], sum)
	return b
}

var goldenCases = []struct {
	name string
	hex  string
	key  string // for keyed auth: bytes are computed by keyed()
	sha  bool
	p    ControlPacket
}{
	{
		name: "up no auth",
		hex:  "20 c0 03 18  00000001 00000002 000493e0 000493e0 00000000",
		p: ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: 1, YourDiscriminator: 2,
			DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond},
	},
	{
		name: "down diag1 poll",
		hex:  "21 60 05 18  11223344 00000000 000f4240 0000c350 00000000",
		p: ControlPacket{Diag: DiagControlDetectExpired, State: StateDown, Poll: true, DetectMult: 5,
			MyDiscriminator: 0x11223344, DesiredMinTxInterval: time.Second, RequiredMinRxInterval: 50 * time.Millisecond},
	},
	{
		name: "init final cpi demand echo",
		hex:  "23 9a 01 18  00000007 00000008 00002710 00002710 000003e8",
		p: ControlPacket{Diag: DiagNeighborDown, State: StateInit, Final: true, ControlPlaneIndependent: true, Demand: true,
			DetectMult: 1, MyDiscriminator: 7, YourDiscriminator: 8, DesiredMinTxInterval: 10 * time.Millisecond,
			RequiredMinRxInterval: 10 * time.Millisecond, RequiredMinEchoRxInterval: time.Millisecond},
	},
	{
		name: "admin down diag7",
		hex:  "27 00 03 18  00000009 00000000 000f4240 000f4240 00000000",
		p: ControlPacket{Diag: DiagAdminDown, State: StateAdminDown, DetectMult: 3, MyDiscriminator: 9,
			DesiredMinTxInterval: time.Second, RequiredMinRxInterval: time.Second},
	},
	{
		name: "simple password",
		hex:  "20 c4 03 20  00000001 00000002 000493e0 000493e0 00000000  01 08 07 68656c6c6f",
		p: ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: 1, YourDiscriminator: 2,
			DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond,
			Auth: &SimplePassword{AuthKeyID: 7, Password: []byte("hello")}},
	},
	{
		name: "keyed md5",
		hex:  "20 c4 03 30  00000001 00000002 000493e0 000493e0 00000000  02 18 01 00 0000002a",
		key:  "secret",
		p: ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: 1, YourDiscriminator: 2,
			DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond,
			Auth: &KeyedMD5{AuthKeyID: 1, Sequence: 42}},
	},
	{
		name: "meticulous keyed md5",
		hex:  "20 44 03 30  00000001 00000000 000f4240 000f4240 00000000  03 18 02 00 ffffffff",
		key:  "0123456789abcdef",
		p: ControlPacket{State: StateDown, DetectMult: 3, MyDiscriminator: 1,
			DesiredMinTxInterval: time.Second, RequiredMinRxInterval: time.Second,
			Auth: &KeyedMD5{AuthKeyID: 2, Meticulous: true, Sequence: 0xffffffff}},
	},
	{
		name: "keyed sha1",
		hex:  "20 c4 03 34  00000001 00000002 000493e0 000493e0 00000000  04 1c 03 00 00000001",
		key:  "sha-key",
		sha:  true,
		p: ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: 1, YourDiscriminator: 2,
			DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond,
			Auth: &KeyedSHA1{AuthKeyID: 3, Sequence: 1}},
	},
	{
		name: "meticulous keyed sha1",
		hex:  "20 c4 03 34  00000001 00000002 000493e0 000493e0 00000000  05 1c 04 00 00000100",
		key:  "01234567890123456789",
		sha:  true,
		p: ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: 1, YourDiscriminator: 2,
			DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond,
			Auth: &KeyedSHA1{AuthKeyID: 4, Meticulous: true, Sequence: 256}},
	},
}

func goldenBytes(t testing.TB, hexs, key string, sha bool) []byte {
	if key == "" {
		return mustHex(t, hexs)
	}
	return keyed(t, hexs, key, sha)
}

// withDigest copies the digest from b into the want packet's auth section.
func withDigest(p ControlPacket, b []byte) ControlPacket {
	switch a := p.Auth.(type) {
	case *KeyedMD5:
		c := *a
		copy(c.Digest[:], b[32:])
		p.Auth = &c
	case *KeyedSHA1:
		c := *a
		copy(c.Hash[:], b[32:])
		p.Auth = &c
	}
	return p
}

func TestGolden(t *testing.T) {
	for _, tt := range goldenCases {
		t.Run(tt.name, func(t *testing.T) {
			want := goldenBytes(t, tt.hex, tt.key, tt.sha)
			wantPkt := withDigest(tt.p, want)

			var got ControlPacket
			if err := got.UnmarshalBinary(want); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if diff := cmp.Diff(wantPkt, got); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}

			p := tt.p
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if tt.key != "" {
				if err := Sign(b, []byte(tt.key)); err != nil {
					t.Fatalf("Sign: %v", err)
				}
			}
			if diff := cmp.Diff(want, b); diff != "" {
				t.Errorf("encode (-want +got):\n%s", diff)
			}
			if tt.p.Auth != nil {
				key := tt.key
				if key == "" {
					key = "hello"
				}
				if err := Verify(b, []byte(key)); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if err := Verify(b, []byte("wrong")); !errors.Is(err, ErrAuth) {
					t.Errorf("Verify with wrong key = %v, want ErrAuth", err)
				}
				bad := append([]byte(nil), b...)
				bad[12] ^= 1
				if tt.key != "" {
					if err := Verify(bad, []byte(key)); !errors.Is(err, ErrAuth) {
						t.Errorf("Verify of tampered packet = %v, want ErrAuth", err)
					}
				}
			}
		})
	}
}

// TestCaptures decodes packets captured from real peers (testdata/*.hex,
// one packet per line, "# comment" lines allowed) and checks the round trip.
func TestCaptures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.hex")
	if err != nil {
		t.Fatal(err)
	}
	packets := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			packets++
			b := mustHex(t, line)
			var p ControlPacket
			if err := p.UnmarshalBinary(b); err != nil {
				t.Errorf("%s:%d: %v", f, i+1, err)
				continue
			}
			out, err := p.MarshalBinary()
			if err != nil {
				t.Errorf("%s:%d: marshal: %v", f, i+1, err)
				continue
			}
			if diff := cmp.Diff(b[:p.Len()], out); diff != "" {
				t.Errorf("%s:%d: round trip (-want +got):\n%s", f, i+1, diff)
			}
		}
	}
	if packets == 0 {
		t.Errorf("no captured packets in %d testdata/*.hex files", len(files))
	}
}

func TestUnmarshalErrors(t *testing.T) {
	valid := mustHex(t, "20 c0 03 18  00000001 00000002 000493e0 000493e0 00000000")
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), valid...)) }
	tests := []struct {
		name  string
		b     []byte
		field string
	}{
		{"empty", nil, "length"},
		{"short", valid[:23], "length"},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0x00; return b }), "version"},
		{"version 2", mod(func(b []byte) []byte { b[0] = 0x40; return b }), "version"},
		{"length 23", mod(func(b []byte) []byte { b[3] = 23; return b }), "length"},
		{"length beyond payload", mod(func(b []byte) []byte { b[3] = 25; return b }), "length"},
		{"auth bit length 24", mod(func(b []byte) []byte { b[1] |= 4; return b }), "length"},
		{"auth truncated", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 26; return append(b, 2, 24) }), "auth len"},
		{"auth len 1", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 26; return append(b, 1, 1) }), "auth len"},
		{"unknown auth type", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 28; return append(b, 9, 4, 0, 0) }), "auth type"},
		{"auth type 0", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 28; return append(b, 0, 4, 0, 0) }), "auth type"},
		{"empty password", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 27; return append(b, 1, 3, 0) }), "auth len"},
		{"long password", mod(func(b []byte) []byte {
			b[1] |= 4
			b[3] = 24 + 20
			return append(b, append([]byte{1, 20, 0}, make([]byte, 17)...)...)
		}), "auth len"},
		{"md5 short", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 28; return append(b, 2, 4, 0, 0) }), "auth len"},
		{"sha1 short", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 28; return append(b, 4, 4, 0, 0) }), "auth len"},
		{"length exceeds auth", mod(func(b []byte) []byte { b[1] |= 4; b[3] = 29; return append(b, 1, 4, 0, 'x', 0) }), "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p ControlPacket
			err := p.UnmarshalBinary(tt.b)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", pe.Field, tt.field, err)
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Errorf("error does not wrap ErrInvalidPacket")
			}
		})
	}
}

func TestTrailingBytesIgnored(t *testing.T) {
	b := mustHex(t, "20 c0 03 18  00000001 00000002 000493e0 000493e0 00000000 deadbeef")
	var p ControlPacket
	if err := p.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if p.MyDiscriminator != 1 {
		t.Errorf("my discriminator = %d", p.MyDiscriminator)
	}
}

func TestValidate(t *testing.T) {
	ok := ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: 1}
	tests := []struct {
		name string
		mod  func(p *ControlPacket)
		want []string
	}{
		{"ok", func(*ControlPacket) {}, nil},
		{"state", func(p *ControlPacket) { p.State = 4 }, []string{"state"}},
		{"diag", func(p *ControlPacket) { p.Diag = 32 }, []string{"diag"}},
		{"mult", func(p *ControlPacket) { p.DetectMult = 0 }, []string{"detect mult"}},
		{"discr", func(p *ControlPacket) { p.MyDiscriminator = 0 }, []string{"my discriminator"}},
		{"multipoint", func(p *ControlPacket) { p.Multipoint = true }, []string{"multipoint"}},
		{"poll final", func(p *ControlPacket) { p.Poll, p.Final = true, true }, []string{"poll/final"}},
		{"intervals", func(p *ControlPacket) {
			p.DesiredMinTxInterval = -1
			p.RequiredMinRxInterval = maxInterval + time.Microsecond
			p.RequiredMinEchoRxInterval = -time.Second
		}, []string{"desired min tx", "required min rx", "required min echo rx"}},
		{"password", func(p *ControlPacket) { p.Auth = &SimplePassword{} }, []string{"password length"}},
		{"several", func(p *ControlPacket) { p.DetectMult = 0; p.MyDiscriminator = 0 }, []string{"detect mult", "my discriminator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mod(&p)
			err := p.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Validate() = %v, want ErrInvalidPacket", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, err := p.AppendBinary(nil); err == nil {
				t.Error("AppendBinary accepted an invalid packet")
			}
		})
	}
}

func TestIntervalConversion(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want uint32
	}{
		{0, 0}, {-5, 0}, {time.Microsecond, 1}, {1500 * time.Nanosecond, 1}, {maxInterval, 0xffffffff}, {maxInterval + time.Hour, 0xffffffff},
	} {
		if got := toMicros(tt.in); got != tt.want {
			t.Errorf("toMicros(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSignVerifyErrors(t *testing.T) {
	noAuth := mustHex(t, "20 c0 03 18  00000001 00000002 000493e0 000493e0 00000000")
	md5pkt := keyed(t, "20 c4 03 30  00000001 00000002 000493e0 000493e0 00000000  02 18 01 00 0000002a", "k", false)
	pw := mustHex(t, "20 c4 03 20  00000001 00000002 000493e0 000493e0 00000000  01 08 07 68656c6c6f")
	tests := []struct {
		name string
		pkt  []byte
		key  string
		want error
	}{
		{"no auth section", noAuth, "k", ErrAuth},
		{"md5 key too long", md5pkt, "0123456789abcdefX", ErrInvalidPacket},
		{"empty key", md5pkt, "", ErrInvalidPacket},
		{"bad length", func() []byte { b := append([]byte(nil), md5pkt...); b[3] = 60; return b }(), "k", ErrInvalidPacket},
		{"md5 section len", func() []byte { b := append([]byte(nil), md5pkt...); b[25] = 20; return b }(), "k", ErrInvalidPacket},
		{"unknown type", func() []byte { b := append([]byte(nil), md5pkt...); b[24] = 7; return b }(), "k", ErrInvalidPacket},
		{"password len", func() []byte { b := append([]byte(nil), pw...); b[25] = 2; return b }(), "hello", ErrInvalidPacket},
		{"password mismatch", pw, "hellO", ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.pkt, []byte(tt.key)); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			c := append([]byte(nil), tt.pkt...)
			if err := Sign(c, []byte(tt.key)); !errors.Is(err, tt.want) {
				t.Errorf("Sign = %v, want %v", err, tt.want)
			}
		})
	}
	if err := Sign(append([]byte(nil), pw...), []byte("hello")); err != nil {
		t.Errorf("Sign(simple password) = %v", err)
	}
}

func TestAuthSeq(t *testing.T) {
	tests := []struct {
		name       string
		start      AuthSeq
		seq        uint32
		meticulous bool
		mult       uint8
		want       bool
	}{
		{"unknown accepts anything", AuthSeq{}, 12345, true, 3, true},
		{"keyed same", AuthSeq{true, 10}, 10, false, 3, true},
		{"keyed top of window", AuthSeq{true, 10}, 19, false, 3, true},
		{"keyed beyond window", AuthSeq{true, 10}, 20, false, 3, false},
		{"keyed older", AuthSeq{true, 10}, 9, false, 3, false},
		{"meticulous same", AuthSeq{true, 10}, 10, true, 3, false},
		{"meticulous next", AuthSeq{true, 10}, 11, true, 3, true},
		{"meticulous wraps", AuthSeq{true, 0xffffffff}, 1, true, 1, true},
		{"meticulous wrap beyond", AuthSeq{true, 0xffffffff}, 3, true, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.start
			if got := s.Accept(tt.seq, tt.meticulous, tt.mult); got != tt.want {
				t.Fatalf("Accept = %v, want %v", got, tt.want)
			}
			if tt.want && (!s.Known || s.Last != tt.seq) {
				t.Errorf("state after accept = %+v", s)
			}
			if !tt.want && s != tt.start {
				t.Errorf("state changed on reject: %+v", s)
			}
		})
	}
}

func TestStringers(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{StateUp.String(), "Up"}, {State(9).String(), "State(9)"},
		{DiagControlDetectExpired.String(), "control detection time expired"}, {Diag(30).String(), "Diag(30)"},
		{AuthKeyedSHA1.String(), "keyed SHA1"}, {AuthType(9).String(), "AuthType(9)"},
		{ReasonDetectExpired.String(), "detection time expired"}, {Reason(99).String(), "Reason(99)"},
		{DropTTL.String(), "ttl"}, {DropReason(99).String(), "DropReason(99)"},
		{(&ParseError{Field: "f", Offset: 1, Reason: "r"}).Error(), "bfd: invalid f at offset 1: r"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if len(dropNames) != NumDropReasons {
		t.Errorf("dropNames has %d entries, want %d", len(dropNames), NumDropReasons)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	for _, tt := range goldenCases {
		b := goldenBytes(t, tt.hex, tt.key, tt.sha)
		var p ControlPacket
		if err := p.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if err := p.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: UnmarshalBinary allocates %v times", tt.name, allocs)
		}
		buf := make([]byte, 0, MaxPacketLen)
		allocs = testing.AllocsPerRun(100, func() {
			out, _ := p.AppendBinary(buf[:0])
			if tt.key != "" {
				_ = Sign(out, []byte(tt.key))
				_ = Verify(out, []byte(tt.key))
			}
		})
		if allocs != 0 {
			t.Errorf("%s: AppendBinary+Sign+Verify allocates %v times", tt.name, allocs)
		}
	}
}

func FuzzControlPacket(f *testing.F) {
	for _, tt := range goldenCases {
		f.Add(goldenBytes(f, tt.hex, tt.key, tt.sha))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 24))
	files, _ := filepath.Glob("testdata/*.hex")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				f.Add(mustHex(f, line))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ControlPacket
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		if p.Validate() != nil {
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("marshal of valid decoded packet: %v", err)
		}
		var q ControlPacket
		if err := q.UnmarshalBinary(out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(p, q); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, tt := range goldenCases {
		f.Add(goldenBytes(f, tt.hex, tt.key, tt.sha), []byte(tt.key))
	}
	f.Fuzz(func(t *testing.T, b, key []byte) {
		c := append([]byte(nil), b...)
		_ = Verify(c, key)
		if string(c) != string(b) {
			t.Fatal("Verify modified the packet")
		}
		if Sign(c, key) == nil && Verify(c, key) != nil {
			t.Fatal("a packet signed without error does not verify")
		}
	})
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, name := range []string{"up no auth", "keyed sha1"} {
		for _, tt := range goldenCases {
			if tt.name != name {
				continue
			}
			buf := goldenBytes(b, tt.hex, tt.key, tt.sha)
			b.Run(name, func(b *testing.B) {
				var p ControlPacket
				b.ReportAllocs()
				for b.Loop() {
					if err := p.UnmarshalBinary(buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	p := goldenCases[0].p
	buf := make([]byte, 0, MaxPacketLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySHA1(b *testing.B) {
	tt := goldenCases[7]
	buf := goldenBytes(b, tt.hex, tt.key, tt.sha)
	key := []byte(tt.key)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(buf, key); err != nil {
			b.Fatal(err)
		}
	}
}
