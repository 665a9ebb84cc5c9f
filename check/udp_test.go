package check

import (
	"bytes"
	"context"
	"errors"
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
		{"reply within bounds", UDP{Addr: echo, Payload: []byte("ping"), MinReplyLength: 7, MaxReplyLength: 7}, 0},
		{"reply too short", UDP{Addr: echo, Payload: []byte("ping"), MinReplyLength: 8}, ReasonLength},
		{"reply too long", UDP{Addr: echo, Payload: []byte("ping"), MaxReplyLength: 6}, ReasonLength},
		{"huge reply too long", UDP{Addr: huge, MaxReplyLength: 1000}, ReasonLength},
		{"silent with bounds is up", UDP{Addr: silent, Payload: []byte("x"), MinReplyLength: 10}, 0},
		{"negative bound", UDP{Addr: echo, MinReplyLength: -1}, ReasonConfig},
		{"min above max", UDP{Addr: echo, MinReplyLength: 10, MaxReplyLength: 9}, ReasonConfig},
		{"bound above datagram", UDP{Addr: echo, MaxReplyLength: 70000}, ReasonConfig},
		{"expect longer than max", UDP{Addr: echo, Expect: []byte("re:ping"), MaxReplyLength: 3}, ReasonConfig},
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
	t.Run("length error", func(t *testing.T) {
		for _, tt := range []struct {
			u        UDP
			want     LengthError
			tooLarge bool
		}{
			{UDP{Addr: echo, Payload: []byte("ping"), MinReplyLength: 8, MaxReplyLength: 20}, LengthError{Len: 7, Min: 8, Max: 20}, false},
			{UDP{Addr: huge, MaxReplyLength: 1000}, LengthError{Len: 60000, Max: 1000}, true},
		} {
			err := tt.u.Check(ctxTimeout(t, 2*time.Second))
			var le *LengthError
			if !errors.As(err, &le) {
				t.Fatalf("%+v: %v, want a *LengthError", tt.u.MinReplyLength, err)
			}
			if *le != tt.want || errors.Is(err, ErrTooLarge) != tt.tooLarge {
				t.Errorf("LengthError = %+v (too large %v), want %+v (%v)", *le, errors.Is(err, ErrTooLarge), tt.want, tt.tooLarge)
			}
		}
	})
	if (&UDP{Addr: echo, MinReplyLength: 1}).CheckKey() == (&UDP{Addr: echo}).CheckKey() ||
		(&UDP{Addr: echo, MaxReplyLength: 1}).CheckKey() == (&UDP{Addr: echo}).CheckKey() {
		t.Error("UDP keys ignore the reply length bounds")
	}
	a, b := &UDP{Addr: echo, Payload: []byte("a")}, &UDP{Addr: echo, Payload: []byte("a")}
	if a.CheckKey() != b.CheckKey() || a.CheckKey() == (&UDP{Addr: echo}).CheckKey() {
		t.Error("UDP keys do not follow parameters")
	}
}
