package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode: decode → encode → decode gives the same packet, and the
// checksum functions never panic.
func FuzzDecode(f *testing.F) {
	for _, g := range goldenPackets {
		f.Add(mustHex(f, g.hex), g.ipv6)
	}
	f.Add([]byte{}, false)
	f.Add([]byte{0x31, 1, 1, 255, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool) {
		var p Packet
		VerifyChecksum(b, netip.Addr{}, netip.Addr{})
		VerifyChecksum(b, kaSrc4, MulticastGroup4)
		VerifyChecksum(b, kaSrc6, MulticastGroup6)
		_ = EncodedLen(b, ipv6)
		if err := p.UnmarshalBinary(b); err != nil {
			_ = p.Decode(b, ipv6)
			return
		}
		if err := p.Decode(b, ipv6); err != nil {
			return
		}
		if p.Version == 2 && (p.AdvertInterval == 0) {
			return // v2 interval 0 is structurally fine but not encodable
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode %+v: %v", p, err)
		}
		if n := EncodedLen(b, ipv6); n != len(enc) {
			t.Fatalf("EncodedLen %d, re-encoded %d", n, len(enc))
		}
		var q Packet
		if err := q.Decode(enc, ipv6); err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		q.Checksum = p.Checksum
		if diff := cmp.Diff(p, q, pktCmp); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzEncode: any encodable packet decodes back to itself with a valid
// checksum.
func FuzzEncode(f *testing.F) {
	f.Add(uint8(3), uint8(51), uint8(150), uint16(100), uint8(0), []byte{192, 0, 2, 100}, false, []byte("secret1"))
	f.Add(uint8(2), uint8(1), uint8(0), uint16(1), uint8(1), []byte{192, 0, 2, 1, 192, 0, 2, 2}, false, []byte("pw"))
	f.Add(uint8(3), uint8(9), uint8(255), uint16(4095), uint8(0), make([]byte, 32), true, []byte(nil))
	f.Fuzz(func(t *testing.T, version, vrid, prio uint8, iv uint16, authType uint8, addrBytes []byte, ipv6 bool, pass []byte) {
		p := Packet{Version: version, Type: TypeAdvertisement, VRID: vrid, Priority: prio}
		if version == 2 {
			ipv6 = false // VRRPv2 is IPv4 only
		}
		alen := 4
		if ipv6 {
			alen = 16
		}
		for i := 0; i+alen <= len(addrBytes) && len(p.Addrs) < 255; i += alen {
			if ipv6 {
				p.Addrs = append(p.Addrs, netip.AddrFrom16([16]byte(addrBytes[i:i+16])))
			} else {
				p.Addrs = append(p.Addrs, netip.AddrFrom4([4]byte(addrBytes[i:i+4])))
			}
		}
		if version == 2 {
			p.AdvertInterval = time.Duration(iv%256) * time.Second
			p.AuthType = AuthType(authType)
			copy(p.AuthData[:], pass)
		} else {
			p.AdvertInterval = time.Duration(iv&0x0fff) * 10 * time.Millisecond
		}
		src, dst := kaSrc4, MulticastGroup4
		if ipv6 {
			src, dst = kaSrc6, MulticastGroup6
		}
		b, err := p.AppendChecksummed(nil, src, dst)
		if err != nil {
			return
		}
		var q Packet
		if err := q.Decode(b, ipv6); err != nil {
			t.Fatalf("decode: %v (packet %+v)", err, p)
		}
		p.Checksum = q.Checksum
		if diff := cmp.Diff(p, q, pktCmp); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		if _, ok := VerifyChecksum(b, src, dst); !ok {
			t.Fatal("checksum does not verify")
		}
	})
}

// FuzzMachineReceive: arbitrary received bytes never panic the machine nor
// make it act on an invalid packet.
func FuzzMachineReceive(f *testing.F) {
	for _, g := range goldenPackets {
		f.Add(mustHex(f, g.hex), 255, uint8(0))
	}
	f.Add([]byte{0x31, 51, 200, 1, 0, 100, 0, 0, 192, 0, 2, 100}, 255, uint8(1))
	f.Add([]byte{0x31, 51, 200, 1, 0, 100, 0, 0, 192, 0, 2, 100}, 255, uint8(8))
	f.Fuzz(func(t *testing.T, b []byte, ttl int, mode uint8) {
		cfg := baseConfig()
		cfg.VRID = 51
		cfg.ChecksumAccept = ChecksumAccept(mode % 3)
		if mode&4 != 0 {
			cfg.Version = 2
		}
		m, err := NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		dst := MulticastGroup4
		if mode&8 != 0 {
			dst = MulticastGroup6 // a transport reporting the other family
		}
		m.Handle(t0, Event{Kind: EventStart})
		m.Handle(t0, Event{Kind: EventPacket, Payload: b, Meta: Meta{Src: hiPeer, Dst: dst, TTL: ttl}})
		s := m.Stats()
		if s.PacketsReceived != 1 || s.Dropped()+s.AdvertsReceived != 1 {
			t.Fatalf("packet neither dropped nor processed: %+v", s)
		}
	})
}
