package ipvs

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
var apCmp = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

// Golden bytes written out from include/uapi/linux/ip_vs.h (little-endian
// host, as on amd64): the nested service attribute identifying
// TCP 192.0.2.1:80.
func TestEncodeServiceKeyGolden(t *testing.T) {
	got := encodeService(Service{Key: TCPService(netip.MustParseAddrPort("192.0.2.1:80"))}, false)
	want := mustHex(t, ""+
		"2400 0100"+ // IPVS_CMD_ATTR_SERVICE, 36 bytes
		"0600 0100 0200 0000"+ // AF = AF_INET
		"0600 0200 0600 0000"+ // PROTOCOL = 6
		"0800 0300 c000 0201"+ // ADDR = 192.0.2.1
		"0600 0400 0050 0000") // PORT = 80, network order
	if !bytes.Equal(got, want) {
		t.Errorf("encodeService key:\n got %x\nwant %x", []byte(got), want)
	}
	// The fwmark form: AF and FWMARK only.
	got = encodeService(Service{Key: FWMarkService(IPv6, 42)}, false)
	want = mustHex(t, "1400 0100 0600 0100 0a00 0000 0800 0500 2a00 0000")
	if !bytes.Equal(got, want) {
		t.Errorf("encodeService fwmark:\n got %x\nwant %x", []byte(got), want)
	}
}

func TestNetmask(t *testing.T) {
	if got := encodeNetmask(IPv4, 24); !bytes.Equal(got, []byte{255, 255, 255, 0}) {
		t.Errorf("IPv4 /24 = %x", got)
	}
	if got := encodeNetmask(IPv4, 32); !bytes.Equal(got, []byte{255, 255, 255, 255}) {
		t.Errorf("IPv4 /32 = %x", got)
	}
	for _, f := range []Family{IPv4, IPv6} {
		for _, n := range []int{1, 24, 32} {
			if got, _ := decodeNetmask(f, encodeNetmask(f, n)); got != n {
				t.Errorf("%v /%d round trip = %d", f, n, got)
			}
		}
	}
}

// reply wraps a nested attribute as a kernel reply payload: genl header
// first.
func reply(a attrs) []byte { return append([]byte{cmdNewService, genlVersion, 0, 0}, a...) }

func TestCodecRoundTrip(t *testing.T) {
	svcs := []Service{
		{Key: TCPService(netip.MustParseAddrPort("192.0.2.1:80")), Scheduler: WRR},
		{Key: UDPService(netip.MustParseAddrPort("[2001:db8::1]:53")), Scheduler: SH, Flags: SHPort | OnePacket,
			Persistence: Persistence{Timeout: 300 * time.Second, Netmask: 64, Engine: "sip"}},
		{Key: SCTPService(netip.MustParseAddrPort("192.0.2.1:3868")), Scheduler: MH, Flags: MHFallback,
			Persistence: Persistence{Timeout: time.Minute, Netmask: 24}},
		{Key: FWMarkService(IPv4, 7), Scheduler: LBLCR},
	}
	for _, s := range svcs {
		got, err := decodeService(reply(encodeService(s, true)))
		if err != nil {
			t.Fatalf("%v: %v", s.Key, err)
		}
		if diff := cmp.Diff(s, got, addrCmp); diff != "" {
			t.Errorf("%v round trip (-want +got):\n%s", s.Key, diff)
		}
	}
	dests := []Destination{
		{Addr: netip.MustParseAddrPort("198.51.100.1:8080"), Weight: 3, UpperThreshold: 10, LowerThreshold: 2},
		{Addr: netip.MustParseAddrPort("[2001:db8::2]:0"), Weight: 0, Forward: Route},
		{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 65535, Forward: Tunnel, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelCsum | TunnelRemCsum},
	}
	for _, d := range dests {
		got, err := decodeDest(reply(encodeDest(d)), IPv4)
		if err != nil {
			t.Fatalf("%v: %v", d.Addr, err)
		}
		if diff := cmp.Diff(d, got, apCmp); diff != "" {
			t.Errorf("%v round trip (-want +got):\n%s", d.Addr, diff)
		}
	}
	sd := SyncDaemon{Role: Backup, Interface: "eth0", SyncID: 9, MaxLen: 1400, Group: netip.MustParseAddr("239.1.2.3"), Port: 8849, TTL: 2}
	got, err := decodeDaemon(reply(encodeDaemon(sd)))
	if err != nil || !cmp.Equal(sd, got, addrCmp) {
		t.Errorf("daemon round trip = %+v, %v", got, err)
	}
	to := Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
	if got, err := decodeTimeouts(reply(encodeTimeouts(to))); err != nil || got != to {
		t.Errorf("timeouts round trip = %+v, %v", got, err)
	}
}

func TestDecodeStats(t *testing.T) {
	var st attrs
	st = st.u32(1, 5).u32(2, 21).u32(3, 20).put(4, ne.AppendUint64(nil, 1132)).put(5, ne.AppendUint64(nil, 1105)).u32(6, 1)
	var st64 attrs
	st64 = st64.put(1, ne.AppendUint64(nil, 1<<40))
	var a attrs
	a = a.put(dstAddr, []byte{198, 51, 100, 1}).be16(dstPort, 80).u32(dstActiveConns, 2).u32(dstInactConns, 3).
		u32(dstPersistConns, 4).put(dstStats, st)
	d, err := decodeDest(reply(attrs(nil).put(attrDest, a)), IPv4)
	if err != nil {
		t.Fatal(err)
	}
	want := Counters{ActiveConns: 2, InactiveConns: 3, PersistConns: 4, Stats: Stats{Conns: 5, PktsIn: 21, PktsOut: 20, BytesIn: 1132, BytesOut: 1105, CPS: 1}}
	if diff := cmp.Diff(want, d.Counters); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	a = a.put(dstStats64, st64) // 64-bit stats win
	d, _ = decodeDest(reply(attrs(nil).put(attrDest, a)), IPv4)
	if d.Counters.Stats.Conns != 1<<40 {
		t.Errorf("stats64 not preferred: %+v", d.Counters.Stats)
	}
	// Kernels without efficient unaligned access put an empty
	// IPVS_STATS_ATTR_PAD (11) before a 64-bit value that needs aligning.
	for _, c := range []struct{ s32, s64 attrs }{
		{s32: attrs(nil).u32(1, 7).put(11, nil)},
		{s64: attrs(nil).put(11, nil).put(1, ne.AppendUint64(nil, 7)).put(11, nil)},
	} {
		if got, err := decodeStats(c.s32, c.s64); err != nil || got != (Stats{Conns: 7}) {
			t.Errorf("stats with padding %x / %x = %+v, %v; want 7 connections", []byte(c.s32), []byte(c.s64), got, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{1, 2, 3, 4},
		reply(attrs(nil).put(attrService, attrs(nil).u16(svcAF, 99))),
		reply(attrs(nil).put(attrService, attrs(nil).u16(svcAF, 2).put(svcAddr, []byte{1}))),
		reply(attrs(nil).put(attrService, attrs(nil).u16(svcAF, 2).put(svcFlags, []byte{1}))),
		append(reply(nil), 0xff, 0xff, 0, 0),
	} {
		if _, err := decodeService(b); err == nil {
			t.Errorf("decodeService(%x) succeeded", b)
		}
	}
}

// FuzzDecode feeds arbitrary replies to every decoder: they never panic,
// and a service that decodes and validates survives encode → decode.
func FuzzDecode(f *testing.F) {
	f.Add(reply(encodeService(Service{Key: TCPService(netip.MustParseAddrPort("192.0.2.1:80")), Scheduler: RR,
		Persistence: Persistence{Timeout: time.Minute, Netmask: 24}}, true)))
	f.Add(reply(encodeService(Service{Key: FWMarkService(IPv6, 1), Scheduler: SH, Flags: SHPort}, true)))
	f.Add(reply(encodeDest(Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Forward: Tunnel, TunnelType: GUE, TunnelPort: 1})))
	f.Add(reply(encodeDaemon(SyncDaemon{Role: Master, Interface: "lo", SyncID: 1})))
	f.Add(reply(encodeTimeouts(Timeouts{TCP: time.Second})))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = forAttrs(b, func(uint16, []byte) error { return nil })
		_, _ = decodeDest(b, IPv4)
		_, _ = decodeDest(b, IPv6)
		_, _ = decodeDaemon(b)
		_, _ = decodeTimeouts(b)
		s, err := decodeService(b)
		if err != nil || s.Validate() != nil {
			return
		}
		s2, err := decodeService(reply(encodeService(s, true)))
		if err != nil {
			t.Fatalf("re-decode of %+v: %v", s, err)
		}
		if s.attrs() != s2.attrs() || s.Key != s2.Key {
			t.Fatalf("round trip changed the service:\n%+v\n%+v", s, s2)
		}
	})
}

func TestRequestFlags(t *testing.T) {
	if got := (request{dump: true}).flags(); got != 0x301 {
		t.Errorf("dump flags %#x, want NLM_F_REQUEST|NLM_F_DUMP", got)
	}
	if got := (request{}).flags(); got != 0x5 {
		t.Errorf("request flags %#x, want NLM_F_REQUEST|NLM_F_ACK", got)
	}
}
