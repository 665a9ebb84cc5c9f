package bfd

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"
)

// manualClock is a Clock whose time and pending callback the test controls.
type manualClock struct {
	now time.Time
	f   func()
}

func (c *manualClock) Now() time.Time { return c.now }
func (c *manualClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.f = f
	return func() bool { return true }
}

// sinkTransport discards writes and blocks reads until closed.
type sinkTransport struct{ closed chan struct{} }

func (t *sinkTransport) ReadFrom([]byte) (int, Meta, error) {
	<-t.closed
	return 0, Meta{}, net.ErrClosed
}
func (t *sinkTransport) WriteTo([]byte, Meta) error { return nil }
func (t *sinkTransport) Close() error               { return nil }

// TestMuxLateWakeup drives the loop's steps by hand: packets queued while
// the loop was stalled are processed before detection timers, and a late
// wakeup defers judging timers by graceDelay.
func TestMuxLateWakeup(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.2")
	clk := &manualClock{now: t0}
	m, err := NewMux(MuxConfig{Clock: clk, Rand: rand.NewPCG(1, 2)}, &sinkTransport{closed: make(chan struct{})})
	if err != nil {
		t.Fatal(err)
	}
	fast := 10 * time.Millisecond
	d, err := m.add(SessionConfig{Peer: peer, Config: Config{DesiredMinTxInterval: fast, RequiredMinRxInterval: fast}})
	if err != nil {
		t.Fatal(err)
	}
	queue := func(st State) {
		p := ControlPacket{State: st, DetectMult: 3, MyDiscriminator: 99, DesiredMinTxInterval: fast, RequiredMinRxInterval: fast}
		if st != StateDown {
			p.YourDiscriminator = d
		}
		b, _ := p.MarshalBinary()
		buf := <-m.free
		m.rx <- rxPacket{buf: buf, n: copy(buf[:], b), meta: Meta{Peer: peer, TTL: 255}}
	}
	step := func() {
		m.drain()
		m.runTimers()
	}
	state := func() State { return m.byDiscr[d].s.State() }
	queue(StateDown)
	step()
	queue(StateUp)
	step()
	if state() != StateUp {
		t.Fatalf("state %v, want Up", state())
	}
	deadline := m.byDiscr[d].s.detectAt

	// 1. A stall of 20 ms past the detection deadline with a packet queued
	// meanwhile: the packet is processed first, no false detection.
	clk.now = deadline.Add(20 * time.Millisecond)
	queue(StateUp)
	step()
	if state() != StateUp {
		t.Fatalf("false detection with a packet queued: %v", state())
	}
	clk.now = clk.now.Add(graceDelay)
	step()

	// 2. Late again, nothing queued: timers wait for the grace period, a
	// packet arriving during it saves the session.
	deadline = m.byDiscr[d].s.detectAt
	clk.now = deadline.Add(20 * time.Millisecond)
	step()
	if state() != StateUp {
		t.Fatalf("timers judged during the grace period: %v", state())
	}
	if m.Stats().LateWakeups == 0 {
		t.Error("late wakeup not counted")
	}
	clk.now = clk.now.Add(graceDelay / 2)
	queue(StateUp)
	step()
	clk.now = clk.now.Add(graceDelay / 2)
	step()
	if state() != StateUp {
		t.Fatalf("packet during the grace period not counted: %v", state())
	}

	// 3. Late, and still nothing after the grace period: Down, diag 1.
	deadline = m.byDiscr[d].s.detectAt
	clk.now = deadline.Add(20 * time.Millisecond)
	step()
	if state() != StateUp {
		t.Fatalf("expired without the grace period: %v", state())
	}
	clk.now = clk.now.Add(graceDelay)
	step()
	if state() != StateDown || m.byDiscr[d].s.localDiag != DiagControlDetectExpired {
		t.Fatalf("after the grace period: %v %v", state(), m.byDiscr[d].s.localDiag)
	}

	// 4. On time (not late): judged at once.
	queue(StateDown)
	step()
	queue(StateUp)
	step()
	// Wake exactly at every deadline until the detection time passes.
	late := m.Stats().LateWakeups
	target := m.byDiscr[d].s.detectAt
	for i := 0; state() == StateUp && i < 100; i++ {
		clk.now = m.heap[0].deadline
		step()
	}
	if state() != StateDown || clk.now.After(target) {
		t.Fatalf("on-time expiry: %v at %v, deadline %v", state(), clk.now, target)
	}
	if m.Stats().LateWakeups != late {
		t.Error("on-time wakeups counted as late")
	}
	if clk.f == nil {
		t.Error("no timer armed")
	}
}
