//go:build linux

package bfd

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func cmsg(level, typ int, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	if unix.SizeofCmsghdr == 16 {
		binary.NativeEndian.PutUint64(b, uint64(unix.CmsgLen(len(data))))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(unix.CmsgLen(len(data))))
	}
	binary.NativeEndian.PutUint32(b[unix.SizeofCmsghdr-8:], uint32(level))
	binary.NativeEndian.PutUint32(b[unix.SizeofCmsghdr-4:], uint32(typ))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func TestParseCmsgs(t *testing.T) {
	pkt4 := append(append(u32(3), 192, 0, 2, 9), 192, 0, 2, 1) // ifindex, spec_dst, addr
	pkt6 := append(netip.MustParseAddr("2001:db8::1").AsSlice(), u32(4)...)
	tests := []struct {
		name string
		oob  []byte
		want Meta
	}{
		{"v4", append(cmsg(unix.IPPROTO_IP, unix.IP_TTL, u32(255)), cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, pkt4)...),
			Meta{TTL: 255, IfIndex: 3, Local: netip.MustParseAddr("192.0.2.1")}},
		{"v6", append(cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, pkt6), cmsg(unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, u32(64))...),
			Meta{TTL: 64, IfIndex: 4, Local: netip.MustParseAddr("2001:db8::1")}},
		{"empty", nil, Meta{}},
		{"truncated header", cmsg(unix.IPPROTO_IP, unix.IP_TTL, u32(255))[:8], Meta{}},
		{"bad length", func() []byte {
			b := cmsg(unix.IPPROTO_IP, unix.IP_TTL, u32(255))
			b[0] = 200
			return b
		}(), Meta{}},
		{"short data ignored", cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, []byte{1, 2}), Meta{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Meta
			parseCmsgs(tt.oob, &m)
			if diff := cmp.Diff(tt.want, m, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendPktinfo(t *testing.T) {
	b := appendPktinfo(nil, false, netip.MustParseAddr("192.0.2.1"), 7)
	want := cmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, append(append(u32(7), 192, 0, 2, 1), 0, 0, 0, 0))
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("v4 (-want +got):\n%s", diff)
	}
	b = appendPktinfo(nil, true, netip.MustParseAddr("2001:db8::1"), 5)
	want = cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, append(netip.MustParseAddr("2001:db8::1").AsSlice(), u32(5)...))
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("v6 (-want +got):\n%s", diff)
	}
}

func FuzzParseCmsgs(f *testing.F) {
	f.Add(cmsg(unix.IPPROTO_IP, unix.IP_TTL, u32(255)))
	f.Add(cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, make([]byte, 20)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Meta
		parseCmsgs(b, &m)
	})
}
