package ipvs

import (
	"net/netip"
	"testing"
)

// A real-server reply as the kernel sends it: every attribute, both stats.
func destReply() []byte {
	var st, st64 attrs
	for i := uint16(1); i <= 10; i++ {
		if i == 4 || i == 5 {
			st = st.put(i, ne.AppendUint64(nil, 1))
		} else {
			st = st.u32(i, 1)
		}
		st64 = st64.put(i, ne.AppendUint64(nil, 1))
	}
	a := encodeDest(Destination{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 1, Forward: Tunnel, TunnelType: GUE, TunnelPort: 1})
	inner := a[4:]
	inner = inner.u32(dstActiveConns, 1).u32(dstInactConns, 2).u32(dstPersistConns, 3).put(dstStats, st).put(dstStats64, st64)
	return reply(attrs(nil).put(attrDest, inner))
}

func BenchmarkDecodeDest(b *testing.B) {
	r := destReply()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeDest(r, IPv4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeAddDest(b *testing.B) {
	op := Op{Kind: AddDestination, Service: Service{Key: vip80}, Destination: Destination{Addr: rs1, Weight: 1}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := opRequest(op); err != nil {
			b.Fatal(err)
		}
	}
}
