package ipvsmoby

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	moby "github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/nux-root/keepalived-go/ipvs"
)

// A service survives the trip through moby's types, and moby's Netmask
// carries what the kernel wants: an IPv4 mask in network order (moby
// writes the field in host order), an IPv6 prefix length.
func TestServiceRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		in          ipvs.Service
		wantNetmask [4]byte // on the wire; for IPv6 the first byte is the prefix length
	}{
		{"v4 default", ipvs.Service{Key: ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80")), Scheduler: ipvs.WLC},
			[4]byte{255, 255, 255, 255}},
		{"v4 persistent /24", ipvs.Service{Key: ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:443")), Scheduler: ipvs.SH,
			Flags: ipvs.SHPort | ipvs.SHFallback, Persistence: ipvs.Persistence{Timeout: 300 * time.Second, Netmask: 24}},
			[4]byte{255, 255, 255, 0}},
		{"v6 persistent /64", ipvs.Service{Key: ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::10]:53")), Scheduler: ipvs.LC,
			Persistence: ipvs.Persistence{Timeout: time.Minute, Netmask: 64}}, [4]byte{64}},
		{"fwmark", ipvs.Service{Key: ipvs.FWMarkService(ipvs.IPv4, 42), Scheduler: ipvs.MH, Flags: ipvs.OnePacket},
			[4]byte{255, 255, 255, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := toMobyService(tt.in)
			// moby puts the uint32 on the wire in native order.
			var nm [4]byte
			binary.NativeEndian.PutUint32(nm[:], ms.Netmask)
			if tt.in.Key.Family == ipvs.IPv6 {
				binary.NativeEndian.PutUint32(tt.wantNetmask[:], uint32(tt.wantNetmask[0]))
			}
			if nm != tt.wantNetmask {
				t.Errorf("netmask bytes = %v, want %v", nm, tt.wantNetmask)
			}
			got, err := fromMobyService(ms)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.in, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromMobyMalformed(t *testing.T) {
	_, err := fromMobyService(&moby.Service{AddressFamily: 2, Protocol: 6, Address: []byte{1, 2, 3}})
	if !errors.Is(err, errMalformed) {
		t.Errorf("3-byte address: %v, want errMalformed", err)
	}
}

// What moby cannot send fails with ErrNotSupported before any call.
func TestToMobyDestUnsupported(t *testing.T) {
	key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	tests := []ipvs.Destination{
		{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Forward: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080},
		{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Forward: ipvs.Tunnel},
	}
	for _, d := range tests {
		if _, err := toMobyDest(key, d); !errors.Is(err, ipvs.ErrNotSupported) {
			t.Errorf("toMobyDest(%v) = %v, want ErrNotSupported", d, err)
		}
	}
	md, err := toMobyDest(key, ipvs.Destination{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 3, Forward: ipvs.Route})
	if err != nil || md.Weight != 3 || md.ConnectionFlags != uint32(ipvs.Route) || md.AddressFamily != uint16(ipvs.IPv4) {
		t.Errorf("toMobyDest = %+v, %v", md, err)
	}
}

func TestClassify(t *testing.T) {
	add := ipvs.Op{Kind: ipvs.AddService}
	del := ipvs.Op{Kind: ipvs.DeleteDestination}
	tests := []struct {
		op   ipvs.Op
		in   error
		want error
	}{
		{add, unix.EEXIST, ipvs.ErrExist},
		{add, unix.ESRCH, ipvs.ErrNoService},
		{add, unix.ENOENT, ipvs.ErrNoModule},
		{del, unix.ENOENT, ipvs.ErrNoDestination},
		{add, unix.ERANGE, ipvs.ErrInvalid},
		{add, unix.EINVAL, ipvs.ErrInvalid},
	}
	for _, tt := range tests {
		got := classify(tt.op, tt.in)
		if !errors.Is(got, tt.want) || !errors.Is(got, tt.in) {
			t.Errorf("classify(%v, %v) = %v, want it to match %v and the errno", tt.op.Kind, tt.in, got, tt.want)
		}
	}
	if got := classify(add, unix.EPERM); got != unix.EPERM {
		t.Errorf("classify(EPERM) = %#v, want EPERM unchanged", got)
	}
}
