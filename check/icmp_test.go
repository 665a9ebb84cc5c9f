package check

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func TestICMPConfig(t *testing.T) {
	for _, p := range []ICMP{{}, {Addr: netip.MustParseAddr("127.0.0.1"), Size: 4}, {Addr: netip.MustParseAddr("127.0.0.1"), Size: 70000}} {
		checkResult(t, p.Check(context.Background()), ReasonConfig, nil)
	}
	if (ICMP{Addr: netip.MustParseAddr("::1")}).CheckKey() != (ICMP{Addr: netip.MustParseAddr("::1")}).CheckKey() {
		t.Error("equal ICMP checks, different keys")
	}
}

func echoBytes(t testing.TB, typ icmp.Type, id, seq int, data []byte) []byte {
	b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMatchEcho(t *testing.T) {
	data := []byte("token-12")
	tests := []struct {
		name  string
		proto int
		b     []byte
		id    int
		want  bool
	}{
		{"v4 reply", 1, echoBytes(t, ipv4.ICMPTypeEchoReply, 7, 9, data), 7, true},
		{"v4 reply any id", 1, echoBytes(t, ipv4.ICMPTypeEchoReply, 8, 9, data), -1, true},
		{"v4 wrong id", 1, echoBytes(t, ipv4.ICMPTypeEchoReply, 8, 9, data), 7, false},
		{"v4 wrong seq", 1, echoBytes(t, ipv4.ICMPTypeEchoReply, 7, 10, data), 7, false},
		{"v4 wrong data", 1, echoBytes(t, ipv4.ICMPTypeEchoReply, 7, 9, []byte("other")), 7, false},
		{"v4 request", 1, echoBytes(t, ipv4.ICMPTypeEcho, 7, 9, data), 7, false},
		{"v6 reply", 58, echoBytes(t, ipv6.ICMPTypeEchoReply, 7, 9, data), 7, true},
		{"garbage", 1, []byte{1, 2}, 7, false},
	}
	for _, tt := range tests {
		if got := matchEcho(tt.proto, tt.b, tt.id, 9, data); got != tt.want {
			t.Errorf("%s: matchEcho = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !fromAddr(&net.IPAddr{IP: net.ParseIP("127.0.0.1")}, netip.MustParseAddr("127.0.0.1")) ||
		!fromAddr(&net.UDPAddr{IP: net.ParseIP("::1")}, netip.MustParseAddr("::1")) ||
		fromAddr(&net.TCPAddr{IP: net.ParseIP("::1")}, netip.MustParseAddr("::1")) ||
		fromAddr(&net.IPAddr{IP: net.ParseIP("127.0.0.2")}, netip.MustParseAddr("127.0.0.1")) {
		t.Error("fromAddr")
	}
}

func FuzzMatchEcho(f *testing.F) {
	f.Add(1, echoBytes(f, ipv4.ICMPTypeEchoReply, 1, 2, []byte("abcdefgh")))
	f.Add(58, echoBytes(f, ipv6.ICMPTypeEchoReply, 1, 2, []byte("abcdefgh")))
	f.Add(1, []byte{3, 3, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, proto int, b []byte) {
		if proto != 1 {
			proto = 58
		}
		_ = matchEcho(proto, b, 1, 2, []byte("abcdefgh"))
	})
}
