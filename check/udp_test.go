package check

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// udpServer answers each datagram with the datagrams reply(payload) returns.
func udpServer(t *testing.T, reply func([]byte) [][]byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, r := range reply(buf[:n]) {
				pc.WriteTo(r, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return addrPort(t, pc.LocalAddr())
}

func TestUDP(t *testing.T) {
	echo := udpServer(t, func(b []byte) [][]byte { return [][]byte{append([]byte("re:"), b...)} })
	silent := udpServer(t, func([]byte) [][]byte { return nil })
	huge := udpServer(t, func([]byte) [][]byte { return [][]byte{bytes.Repeat([]byte("z"), 60000)} })
	closed := closedPort(t, "udp")
	tests := []struct {
		name   string
		u      UDP
		reason Reason
	}{
		{"reply", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true}, 0},
		{"reply prefix", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, Expect: []byte("re:ping")}, 0},
		{"reply wrong prefix", UDP{Addr: echo, Payload: []byte("ping"), Expect: []byte("pong")}, ReasonProtocol},
		{"huge reply", UDP{Addr: huge, RequireReply: true}, 0},
		{"silent is up", UDP{Addr: silent, Payload: []byte("x")}, 0},
		{"silent required", UDP{Addr: silent, Payload: []byte("x"), RequireReply: true}, ReasonNoReply},
		{"port unreachable", UDP{Addr: closed, Payload: []byte("x")}, ReasonUnreachable},
		{"invalid", UDP{}, ReasonConfig},
		{"payload too big", UDP{Addr: echo, Payload: make([]byte, 70000)}, ReasonConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, tt.u.Check(ctxTimeout(t, 300*time.Millisecond)), tt.reason, nil)
		})
	}
	t.Run("no deadline uses Wait", func(t *testing.T) {
		u := &UDP{Addr: silent, RequireReply: true, Wait: 50 * time.Millisecond}
		checkResult(t, u.Check(context.Background()), ReasonNoReply, nil)
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		checkResult(t, (&UDP{Addr: silent}).Check(ctx), ReasonCanceled, nil)
	})
	a, b := &UDP{Addr: echo, Payload: []byte("a")}, &UDP{Addr: echo, Payload: []byte("a")}
	if a.CheckKey() != b.CheckKey() || a.CheckKey() == (&UDP{Addr: echo}).CheckKey() {
		t.Error("UDP keys do not follow parameters")
	}
}
