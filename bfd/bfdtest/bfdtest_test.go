package bfdtest_test

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/bfd/bfdtest"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := bfdtest.NewClock(start)
	var fired []int
	c.AfterFunc(2*time.Second, func() { fired = append(fired, 2) })
	c.AfterFunc(time.Second, func() { fired = append(fired, 1) })
	stop := c.AfterFunc(1500*time.Millisecond, func() { fired = append(fired, 99) })
	if !stop() || stop() {
		t.Error("stop: want true then false")
	}
	if at, ok := c.Next(); !ok || !at.Equal(start.Add(time.Second)) {
		t.Errorf("Next = %v %v", at, ok)
	}
	settled := 0
	if n := c.Advance(3*time.Second, func() { settled++ }); n != 2 || settled != 2 {
		t.Errorf("Advance fired %d settled %d", n, settled)
	}
	if len(fired) != 2 || fired[0] != 1 || fired[1] != 2 {
		t.Errorf("fired %v", fired)
	}
	if !c.Now().Equal(start.Add(3 * time.Second)) {
		t.Errorf("Now = %v", c.Now())
	}
	if _, ok := c.Next(); ok {
		t.Error("timers left")
	}
}

func TestNetwork(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	n := bfdtest.NewNetwork()
	ta, _ := n.Listen(a)
	tb, _ := n.Listen(b)
	if _, err := n.Listen(a); err == nil {
		t.Error("duplicate address accepted")
	}
	if _, err := n.Listen(); err == nil {
		t.Error("no address accepted")
	}
	if ta.Addr() != a {
		t.Errorf("Addr = %v", ta.Addr())
	}
	buf := make([]byte, 64)
	_ = ta.WriteTo([]byte("x"), bfd.Meta{Peer: b, MultiHop: true})
	k, m, err := tb.ReadFrom(buf)
	if err != nil || string(buf[:k]) != "x" || m.Peer != a || m.Local != b || m.TTL != 255 || !m.MultiHop {
		t.Errorf("ReadFrom = %q %+v %v", buf[:k], m, err)
	}
	heal := n.Partition(a, b)
	_ = ta.WriteTo([]byte("y"), bfd.Meta{Peer: b})
	heal()
	heal()
	n.SetFilter(func(from, to netip.Addr, b []byte) bool { return string(b) != "z" })
	_ = ta.WriteTo([]byte("z"), bfd.Meta{Peer: b})
	n.SetFilter(nil)
	_ = ta.WriteTo([]byte("w"), bfd.Meta{Peer: netip.MustParseAddr("192.0.2.9")})
	if d := n.Dropped(); d != 3 {
		t.Errorf("Dropped = %d, want 3", d)
	}
	n.SetTTL(1)
	_ = ta.WriteTo([]byte("v"), bfd.Meta{Peer: b})
	if _, m, _ := tb.ReadFrom(buf); m.TTL != 1 {
		t.Errorf("TTL = %d", m.TTL)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	if _, _, err := tb.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrom after Close = %v", err)
	}
	if err := tb.WriteTo(nil, bfd.Meta{Peer: a}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo after Close = %v", err)
	}
	_ = ta.Close()
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
