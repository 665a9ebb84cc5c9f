package vrrp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	kaSrc4 = netip.MustParseAddr("192.0.2.1")
	kaPeer = netip.MustParseAddr("192.0.2.2")
	kaSrc6 = netip.MustParseAddr("fe80::2ce0:53ff:fe45:3dc0")
	vip4   = netip.MustParseAddr("192.0.2.100")
	vip6   = netip.MustParseAddr("2001:db8::100")
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var pktCmp = cmp.Options{cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmpopts.EquateEmpty()}

// goldenPackets are VRRP payloads captured from keepalived 2.2.7 (LAB.md §1).
var goldenPackets = []struct {
	name     string
	hex      string
	src, dst netip.Addr
	ipv6     bool
	mode     ChecksumMode
	want     Packet
}{
	{
		name: "keepalived v2 IPv4 vrid51 prio150 adv1s auth none",
		hex:  "2133960100018665c00002640000000000000000",
		src:  kaSrc4, dst: MulticastGroup4, mode: ChecksumNoPseudoHeader,
		want: Packet{Version: 2, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Checksum: 0x8665, Addrs: []netip.Addr{vip4}},
	},
	{
		name: "keepalived v2 IPv4 auth PASS secret1",
		hex:  "2133960101011819c00002647365637265743100",
		src:  kaSrc4, dst: MulticastGroup4, mode: ChecksumNoPseudoHeader,
		want: Packet{Version: 2, Type: 1, VRID: 51, Priority: 150, AuthType: AuthSimple, AdvertInterval: time.Second, Checksum: 0x1819,
			Addrs: []netip.Addr{vip4}, AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't', '1'}},
	},
	{
		name: "keepalived v3 IPv4 vrid51 prio150 adv100cs multicast",
		hex:  "313396010064d371c0000264",
		src:  kaSrc4, dst: MulticastGroup4, mode: ChecksumPseudoHeader,
		want: Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Checksum: 0xd371, Addrs: []netip.Addr{vip4}},
	},
	{
		name: "keepalived v3 IPv4 unicast to 192.0.2.2",
		hex:  "313396010064f181c0000264",
		src:  kaSrc4, dst: kaPeer, mode: ChecksumPseudoHeader,
		want: Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Checksum: 0xf181, Addrs: []netip.Addr{vip4}},
	},
	{
		name: "keepalived v3 IPv6 vrid51 prio150 adv100cs",
		hex:  "3133960100644eaa20010db8000000000000000000000100",
		src:  kaSrc6, dst: MulticastGroup6, ipv6: true, mode: ChecksumPseudoHeader,
		want: Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Checksum: 0x4eaa, Addrs: []netip.Addr{vip6}},
	},
}

func TestPacketGolden(t *testing.T) {
	for _, tt := range goldenPackets {
		t.Run(tt.name, func(t *testing.T) {
			b := mustHex(t, tt.hex)
			var got Packet
			if err := got.Decode(b, tt.ipv6); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, pktCmp); diff != "" {
				t.Fatalf("Decode (-want +got):\n%s", diff)
			}
			var inferred Packet
			if err := inferred.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if diff := cmp.Diff(tt.want, inferred, pktCmp); diff != "" {
				t.Fatalf("UnmarshalBinary (-want +got):\n%s", diff)
			}
			mode, ok := VerifyChecksum(b, tt.src, tt.dst)
			if !ok || mode != tt.mode {
				t.Fatalf("VerifyChecksum = %v, %v; want %v, true", mode, ok, tt.mode)
			}
			src, dst := tt.src, tt.dst
			if tt.mode == ChecksumNoPseudoHeader {
				src, dst = netip.Addr{}, netip.Addr{}
			}
			enc, err := got.AppendChecksummed(nil, src, dst)
			if err != nil {
				t.Fatalf("AppendChecksummed: %v", err)
			}
			if diff := cmp.Diff(b, enc); diff != "" {
				t.Fatalf("AppendChecksummed (-want +got):\n%s", diff)
			}
			if got := Checksum(b, src, dst); got != tt.want.Checksum {
				t.Fatalf("Checksum = %#04x, want %#04x", got, tt.want.Checksum)
			}
		})
	}
}

func TestPacketRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
	}{
		{"v2 no addrs", Packet{Version: 2, Type: 1, VRID: 1, Priority: 100, AdvertInterval: 255 * time.Second}},
		{"v2 three addrs", Packet{Version: 2, Type: 1, VRID: 255, Priority: 255, AuthType: AuthSimple, AdvertInterval: time.Second,
			Addrs: []netip.Addr{vip4, kaSrc4, kaPeer}, AuthData: [8]byte{'p', 'a', 's', 's'}}},
		{"v3 IPv4 10ms", Packet{Version: 3, Type: 1, VRID: 7, Priority: 0, AdvertInterval: 10 * time.Millisecond, Addrs: []netip.Addr{vip4}}},
		{"v3 IPv4 max interval", Packet{Version: 3, Type: 1, VRID: 7, Priority: 1, AdvertInterval: MaxAdvertIntervalV3, Addrs: []netip.Addr{vip4}}},
		{"v3 IPv6 two addrs", Packet{Version: 3, Type: 1, VRID: 9, Priority: 200, AdvertInterval: 100 * time.Millisecond,
			Addrs: []netip.Addr{vip6, netip.MustParseAddr("fe80::1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tt.p.Len() {
				t.Fatalf("len = %d, Len() = %d", len(b), tt.p.Len())
			}
			ipv6 := len(tt.p.Addrs) > 0 && tt.p.Addrs[0].Is6()
			if n := EncodedLen(b, ipv6); n != len(b) {
				t.Fatalf("EncodedLen = %d, want %d", n, len(b))
			}
			var got Packet
			if err := got.Decode(b, ipv6); err != nil {
				t.Fatal(err)
			}
			want := tt.p
			want.Checksum = got.Checksum
			if diff := cmp.Diff(want, got, pktCmp); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if _, ok := VerifyChecksum(b, netip.Addr{}, netip.Addr{}); !ok {
				t.Fatal("checksum without pseudo-header does not verify")
			}
			// Ethernet padding is tolerated.
			padded := append(append([]byte(nil), b...), make([]byte, 18)...)
			if err := got.Decode(padded, ipv6); err != nil {
				t.Fatalf("padded: %v", err)
			}
		})
	}
}

func TestPacketDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		hex   string
		ipv6  bool
		field string
	}{
		{"empty", "", false, "header"},
		{"short header", "21339601000186", false, "header"},
		{"version 1", "1133960100018665c00002640000000000000000", false, "version"},
		{"version 4", "413396010064d371c0000264", false, "version"},
		{"version 0", "013396010064d371c0000264", false, "version"},
		{"type 0", "303396010064d371c0000264", false, "type"},
		{"type 2", "323396010064d371c0000264", false, "type"},
		{"v2 over IPv6", "2133960100018665c00002640000000000000000", true, "version"},
		{"v2 missing auth data", "2133960100018665c0000264", false, "count"},
		{"v3 count too large", "313396020064d371c0000264", false, "count"},
		{"v3 IPv6 short", "3133960100644eaa20010db8", true, "count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			err := p.Decode(mustHex(t, tt.hex), tt.ipv6)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Field != tt.field || !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Decode error = %v, want ParseError on field %q", err, tt.field)
			}
			if pe.Error() == "" {
				t.Fatal("empty error")
			}
		})
	}
}

func TestPacketValidate(t *testing.T) {
	ok := Packet{Version: 3, Type: 1, VRID: 1, Priority: 1, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
	many := make([]netip.Addr, 256)
	for i := range many {
		many[i] = vip4
	}
	tests := []struct {
		name string
		mod  func(p *Packet)
	}{
		{"version", func(p *Packet) { p.Version = 4 }},
		{"type", func(p *Packet) { p.Type = 2 }},
		{"too many addrs", func(p *Packet) { p.Addrs = many }},
		{"invalid addr", func(p *Packet) { p.Addrs = []netip.Addr{{}} }},
		{"zoned addr", func(p *Packet) { p.Addrs = []netip.Addr{netip.MustParseAddr("fe80::1%eth0")} }},
		{"mixed families", func(p *Packet) { p.Addrs = []netip.Addr{vip4, vip6} }},
		{"v2 IPv6", func(p *Packet) { p.Version = 2; p.Addrs = []netip.Addr{vip6} }},
		{"v2 sub-second", func(p *Packet) { p.Version = 2; p.AdvertInterval = 100 * time.Millisecond }},
		{"v2 too long", func(p *Packet) { p.Version = 2; p.AdvertInterval = 256 * time.Second }},
		{"v3 not centiseconds", func(p *Packet) { p.AdvertInterval = 15 * time.Millisecond }},
		{"v3 too long", func(p *Packet) { p.AdvertInterval = 41 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mod(&p)
			if _, err := p.MarshalBinary(); !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("MarshalBinary error = %v, want ErrInvalidPacket", err)
			}
		})
	}
}

func TestChecksumVariants(t *testing.T) {
	p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
	with, _ := p.AppendChecksummed(nil, kaSrc4, MulticastGroup4)
	without, _ := p.AppendBinary(nil)
	if m, ok := VerifyChecksum(with, kaSrc4, MulticastGroup4); !ok || m != ChecksumPseudoHeader {
		t.Errorf("with pseudo-header: %v %v", m, ok)
	}
	if m, ok := VerifyChecksum(without, kaSrc4, MulticastGroup4); !ok || m != ChecksumNoPseudoHeader {
		t.Errorf("without pseudo-header: %v %v", m, ok)
	}
	with[7] ^= 1
	if _, ok := VerifyChecksum(with, kaSrc4, MulticastGroup4); ok {
		t.Error("corrupted checksum verifies")
	}
	p6 := Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Addrs: []netip.Addr{vip6}}
	no6, _ := p6.AppendBinary(nil)
	if _, ok := VerifyChecksum(no6, kaSrc6, MulticastGroup6); ok {
		t.Error("IPv6 without pseudo-header verifies")
	}
	if _, ok := VerifyChecksum(no6[:4], kaSrc6, MulticastGroup6); ok {
		t.Error("short message verifies")
	}
	// Addresses of two families make no pseudo-header (and no panic).
	if Checksum(without, kaSrc4, MulticastGroup6) != Checksum(without, netip.Addr{}, netip.Addr{}) {
		t.Error("mixed-family checksum includes a pseudo-header")
	}
	if m, ok := VerifyChecksum(without, kaSrc4, MulticastGroup6); !ok || m != ChecksumNoPseudoHeader {
		t.Errorf("mixed families: %v %v", m, ok)
	}
	// Odd lengths are summed with a zero pad byte.
	if Checksum([]byte{1, 2, 3}, netip.Addr{}, netip.Addr{}) != ^uint16(0x0102+0x0300) {
		t.Error("odd-length checksum")
	}
	for _, s := range []string{ChecksumPseudoHeader.String(), ChecksumNoPseudoHeader.String(), ChecksumMode(9).String(),
		AcceptEither.String(), AcceptConfigured.String(), AcceptDetect.String(), ChecksumAccept(9).String(),
		AuthNone.String(), AuthSimple.String(), AuthAH.String(), AuthType(9).String()} {
		if s == "" {
			t.Error("empty String")
		}
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	for _, tt := range goldenPackets {
		b := mustHex(t, tt.hex)
		var p Packet
		p.Addrs = make([]netip.Addr, 0, 4)
		allocs := testing.AllocsPerRun(100, func() {
			if err := p.Decode(b, tt.ipv6); err != nil {
				t.Fatal(err)
			}
			if _, ok := VerifyChecksum(b, tt.src, tt.dst); !ok {
				t.Fatal("checksum")
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs, want 0", tt.name, allocs)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, tt := range goldenPackets {
		buf := mustHex(b, tt.hex)
		b.Run(tt.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Decode(buf, tt.ipv6); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyChecksum(b *testing.B) {
	buf := mustHex(b, goldenPackets[2].hex)
	b.ReportAllocs()
	for b.Loop() {
		VerifyChecksum(buf, kaSrc4, MulticastGroup4)
	}
}

func BenchmarkAppend(b *testing.B) {
	p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 150, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = p.AppendChecksummed(buf[:0], kaSrc4, MulticastGroup4)
	}
}
