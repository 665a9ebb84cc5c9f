package vip

import (
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

func TestAppendGARP(t *testing.T) {
	mac := [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33}
	ip := netip.MustParseAddr("192.0.2.100")
	pad := "000000000000000000000000000000000000"
	tests := []struct {
		name string
		op   uint16
		want string
	}{
		{"request", arpOpRequest, "ffffffffffff00005e000133" + "0806" + "0001080006040001" + "00005e000133c0000264" + "000000000000c0000264" + pad},
		{"reply", arpOpReply, "ffffffffffff00005e000133" + "0806" + "0001080006040002" + "00005e000133c0000264" + "00005e000133c0000264" + pad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(appendGARP(nil, mac, ip, tt.op))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frame (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendUnsolicitedNA(t *testing.T) {
	mac := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	for _, router := range []bool{false, true} {
		src := netip.MustParseAddr("2001:db8::100")
		b := appendUnsolicitedNA(nil, mac, src, src, router)
		if got, want := len(b), 14+40+32; got != want {
			t.Fatalf("len = %d, want %d", got, want)
		}
		// Compare with x/net/icmp's marshalling (independent checksum code).
		flags := byte(0x20)
		if router {
			flags |= 0x80
		}
		body := append([]byte{flags, 0, 0, 0}, src.AsSlice()...)
		body = append(body, 2, 1)
		body = append(body, mac[:]...)
		msg := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: body}}
		want, err := msg.Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), ipv6AllNodes.AsSlice()))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(hex.EncodeToString(want), hex.EncodeToString(b[54:])); diff != "" {
			t.Errorf("router=%v ICMPv6 (-want +got):\n%s", router, diff)
		}
		if diff := cmp.Diff("333300000001021122334455"+"86dd"+"60000000"+"0020"+"3aff", hex.EncodeToString(b[:22])); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
	}
}

func TestVMACHardwareAddr(t *testing.T) {
	if got, want := (VMAC{VRID: 51}).HardwareAddr(), [6]byte{0, 0, 0x5e, 0, 1, 51}; got != want {
		t.Errorf("v4 = %x", got)
	}
	if got, want := (VMAC{VRID: 1, IPv6: true}).HardwareAddr(), [6]byte{0, 0, 0x5e, 0, 2, 1}; got != want {
		t.Errorf("v6 = %x", got)
	}
}
