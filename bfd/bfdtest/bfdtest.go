// Package bfdtest provides an in-memory network and a fake clock for
// testing code built on package bfd without sockets, root or sleeps.
//
// The simplest way to test a [bfd.Mux] is inside a testing/synctest bubble:
// leave MuxConfig.Clock nil (timers are then virtual) and connect the
// muxes with a [Network]; synctest.Wait returns when every session is idle.
// [Clock] serves callers that want to step time explicitly.
package bfdtest

import (
	"container/heap"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
)

// Clock is a fake [bfd.Clock]. Time moves only when Advance is called.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

var _ bfd.Clock = (*Clock)(nil)

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to be called by Advance once the fake time
// reaches now+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{at: c.now.Add(d), seq: c.seq, f: f, idx: -1}
	heap.Push(&c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if t.idx < 0 {
			return false
		}
		heap.Remove(&c.timers, t.idx)
		return true
	}
}

// Next returns the deadline of the earliest pending timer.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// Advance moves the clock forward by d. Timers fall due in deadline order:
// the clock is set to each deadline, the timer's function is called on the
// calling goroutine, and then settle (if not nil) is called so the code
// under test can react before time moves on (pass synctest.Wait inside a
// bubble). It returns the number of timers fired.
func (c *Clock) Advance(d time.Duration, settle func()) int {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	fired := 0
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			c.now = end
			c.mu.Unlock()
			return fired
		}
		t := heap.Pop(&c.timers).(*fakeTimer)
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		fired++
		if settle != nil {
			settle()
		}
	}
}

type fakeTimer struct {
	at  time.Time
	seq uint64
	f   func()
	idx int
}

type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

// Network connects in-memory transports by address. Delivery is
// immediate and in order; packets to an unknown address, across a
// partition, or refused by the filter are dropped.
type Network struct {
	mu      sync.Mutex
	nodes   map[netip.Addr]*Transport
	cut     map[[2]netip.Addr]int
	filter  func(from, to netip.Addr, b []byte) bool
	ttl     uint8
	dropped uint64
}

// NewNetwork returns an empty network. Packets arrive with TTL 255.
func NewNetwork() *Network {
	return &Network{nodes: make(map[netip.Addr]*Transport), cut: make(map[[2]netip.Addr]int), ttl: 255}
}

// SetTTL sets the TTL reported to receivers (to test TTL checks).
func (n *Network) SetTTL(ttl uint8) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ttl = ttl
}

// SetFilter installs f, called for every packet; returning false drops
// it. nil removes the filter. f must not call Network methods.
func (n *Network) SetFilter(f func(from, to netip.Addr, b []byte) bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.filter = f
}

// Dropped returns the number of packets the network dropped.
func (n *Network) Dropped() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dropped
}

// Partition drops traffic in both directions between a and b until the
// returned function is called.
func (n *Network) Partition(a, b netip.Addr) (heal func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[[2]netip.Addr{a, b}]++
	n.cut[[2]netip.Addr{b, a}]++
	var once sync.Once
	return func() {
		once.Do(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.cut[[2]netip.Addr{a, b}]--
			n.cut[[2]netip.Addr{b, a}]--
		})
	}
}

// Listen returns a transport owning addrs (at least one). Packets sent
// with a Meta.Local among them leave from that address, others from the
// first.
func (n *Network) Listen(addrs ...netip.Addr) (*Transport, error) {
	if len(addrs) == 0 {
		return nil, errors.New("bfdtest: no address")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range addrs {
		if _, dup := n.nodes[a]; dup {
			return nil, fmt.Errorf("bfdtest: address %v in use", a)
		}
	}
	t := &Transport{net: n, addrs: append([]netip.Addr(nil), addrs...), in: make(chan datagram, 4096), closed: make(chan struct{})}
	for _, a := range addrs {
		n.nodes[a] = t
	}
	return t, nil
}

type datagram struct {
	b    []byte
	meta bfd.Meta
}

// Transport is an in-memory [bfd.Transport].
type Transport struct {
	net    *Network
	addrs  []netip.Addr
	in     chan datagram
	closed chan struct{}
	once   sync.Once
}

var _ bfd.Transport = (*Transport)(nil)

// Addr returns the transport's first address.
func (t *Transport) Addr() netip.Addr { return t.addrs[0] }

// ReadFrom implements [bfd.Transport].
func (t *Transport) ReadFrom(b []byte) (int, bfd.Meta, error) {
	select {
	case d := <-t.in:
		return copy(b, d.b), d.meta, nil
	case <-t.closed:
		return 0, bfd.Meta{}, fmt.Errorf("bfdtest: read: %w", net.ErrClosed)
	}
}

// WriteTo implements [bfd.Transport].
func (t *Transport) WriteTo(b []byte, m bfd.Meta) error {
	select {
	case <-t.closed:
		return fmt.Errorf("bfdtest: write: %w", net.ErrClosed)
	default:
	}
	n := t.net
	src := t.addrs[0]
	for _, a := range t.addrs {
		if a == m.Local {
			src = a
		}
	}
	n.mu.Lock()
	dst := n.nodes[m.Peer]
	ok := dst != nil && n.cut[[2]netip.Addr{src, m.Peer}] == 0 && (n.filter == nil || n.filter(src, m.Peer, b))
	ttl := n.ttl
	if !ok {
		n.dropped++
	}
	n.mu.Unlock()
	if !ok {
		return nil
	}
	d := datagram{b: append([]byte(nil), b...), meta: bfd.Meta{Peer: src, Local: m.Peer, TTL: ttl, MultiHop: m.MultiHop}}
	select {
	case dst.in <- d:
	case <-dst.closed:
	default:
		n.mu.Lock()
		n.dropped++
		n.mu.Unlock()
	}
	return nil
}

// Close implements [bfd.Transport]; it removes the address from the
// network.
func (t *Transport) Close() error {
	err := fmt.Errorf("bfdtest: close: %w", net.ErrClosed)
	t.once.Do(func() {
		err = nil
		close(t.closed)
		t.net.mu.Lock()
		for _, a := range t.addrs {
			delete(t.net.nodes, a)
		}
		t.net.mu.Unlock()
	})
	return err
}
