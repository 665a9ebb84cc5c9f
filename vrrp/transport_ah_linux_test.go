package vrrp

import (
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A VRRPv2 AH advertisement sent by keepalived 2.2.7 (auth_pass secret1,
// 192.0.2.1 -> 224.0.0.18, VRID 51, priority 150), IPv4 checksum zeroed.
const keepalivedAH = "45c00040000100 00ff330000c0000201e0000012" +
	"70040000c00002010000000193eb9a708edeac444077f74a" +
	"2133960102018465c00002640000000000000000"

func TestAHGolden(t *testing.T) {
	want, err := hex.DecodeString(keepalivedAH[:14] + keepalivedAH[15:])
	if err != nil {
		t.Fatal(err)
	}
	payload := want[ipv4Len+ahLen:]
	got := appendAH(nil, []byte("secret1"), netip.MustParseAddr("192.0.2.1"), MulticastGroup4, 0xc0, 1, payload)
	if diff := cmp.Diff(hex.EncodeToString(want), hex.EncodeToString(got)); diff != "" {
		t.Errorf("appendAH (-want +got):\n%s", diff)
	}
	// The ICV ignores TOS, fragment field and checksum but covers the rest.
	mut := append([]byte(nil), want...)
	mut[1], mut[10], mut[11] = 0, 0x12, 0x34
	if !cmp.Equal(ahICV([]byte("secret1"), mut), want[ipv4Len+12:ipv4Len+ahLen]) {
		t.Error("ICV changed with a mutable field")
	}
	mut[8] = 64 // TTL is covered (as keepalived computes it)
	if cmp.Equal(ahICV([]byte("secret1"), mut), want[ipv4Len+12:ipv4Len+ahLen]) {
		t.Error("ICV ignores the TTL")
	}
	if cmp.Equal(ahICV([]byte("secret2"), want), want[ipv4Len+12:ipv4Len+ahLen]) {
		t.Error("ICV ignores the key")
	}
}
