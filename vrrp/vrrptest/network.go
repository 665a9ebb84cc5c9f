package vrrptest

import (
	"net"
	"net/netip"
	"sync"

	"github.com/nux-root/keepalived-go/vrrp"
)

// Network is an in-memory network of [Transport]s, one per router address,
// for running real [vrrp.Instance]s in tests. A packet sent to the VRRP
// multicast group reaches every other transport of the same family; a
// packet sent to a unicast address reaches the transport with that
// address. Packets arrive with TTL 255, in order, unless a transport is
// cut off with SetDown. It is safe for concurrent use.
type Network struct {
	mu    sync.Mutex
	ports []*Transport
	tap   func(Packet)
}

// Packet is a VRRP payload seen on a Network.
type Packet struct {
	Payload  []byte
	Src, Dst netip.Addr
}

// NewNetwork returns an empty Network.
func NewNetwork() *Network { return &Network{} }

// SetTap installs f to be called (on the sender's goroutine) with a copy of
// every packet sent on the network; nil removes it.
func (n *Network) SetTap(f func(Packet)) {
	n.mu.Lock()
	n.tap = f
	n.mu.Unlock()
}

// Transport returns a new transport with address addr attached to n. Use
// addr as the instance's [vrrp.Config.Source].
func (n *Network) Transport(addr netip.Addr) *Transport {
	t := &Transport{net: n, addr: addr, ready: make(chan struct{}, 1), closed: make(chan struct{})}
	n.mu.Lock()
	n.ports = append(n.ports, t)
	n.mu.Unlock()
	return t
}

var _ vrrp.Transport = (*Transport)(nil)

// Transport is an in-memory [vrrp.Transport] on a [Network].
type Transport struct {
	net    *Network
	addr   netip.Addr
	mu     sync.Mutex
	queue  []Packet
	down   bool
	ready  chan struct{}
	closed chan struct{}
	once   sync.Once
}

// Addr returns the transport's address.
func (t *Transport) Addr() netip.Addr { return t.addr }

// SetDown cuts the transport off the network (down true): it neither sends
// nor receives until set up again.
func (t *Transport) SetDown(down bool) {
	t.mu.Lock()
	t.down = down
	t.mu.Unlock()
}

// Inject delivers payload to this transport as if sent by src to dst.
func (t *Transport) Inject(payload []byte, src, dst netip.Addr) {
	t.deliver(Packet{Payload: append([]byte(nil), payload...), Src: src, Dst: dst}, true)
}

func (t *Transport) deliver(p Packet, force bool) {
	t.mu.Lock()
	if t.down && !force {
		t.mu.Unlock()
		return
	}
	t.queue = append(t.queue, p)
	t.mu.Unlock()
	select {
	case t.ready <- struct{}{}:
	default:
	}
}

// ReadFrom implements [vrrp.Transport].
func (t *Transport) ReadFrom(b []byte) (int, vrrp.Meta, error) {
	for {
		t.mu.Lock()
		if len(t.queue) > 0 {
			p := t.queue[0]
			t.queue = t.queue[1:]
			t.mu.Unlock()
			n := copy(b, p.Payload)
			return n, vrrp.Meta{Src: p.Src, Dst: p.Dst, TTL: 255, IfIndex: 1}, nil
		}
		t.mu.Unlock()
		select {
		case <-t.ready:
		case <-t.closed:
			return 0, vrrp.Meta{}, net.ErrClosed
		}
	}
}

var _ vrrp.PendingReader = (*Transport)(nil)

// ReadPending implements [vrrp.PendingReader]: it returns the next queued
// packet, or ok false at once.
func (t *Transport) ReadPending(b []byte) (int, vrrp.Meta, bool) {
	select {
	case <-t.closed:
		return 0, vrrp.Meta{}, false
	default:
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) == 0 {
		return 0, vrrp.Meta{}, false
	}
	p := t.queue[0]
	t.queue = t.queue[1:]
	return copy(b, p.Payload), vrrp.Meta{Src: p.Src, Dst: p.Dst, TTL: 255, IfIndex: 1}, true
}

// WriteTo implements [vrrp.Transport].
func (t *Transport) WriteTo(b []byte, dst netip.Addr) error {
	select {
	case <-t.closed:
		return net.ErrClosed
	default:
	}
	t.mu.Lock()
	down := t.down
	t.mu.Unlock()
	p := Packet{Payload: append([]byte(nil), b...), Src: t.addr, Dst: dst}
	t.net.mu.Lock()
	tap := t.net.tap
	ports := append([]*Transport(nil), t.net.ports...)
	t.net.mu.Unlock()
	if tap != nil {
		tap(p)
	}
	if down {
		return nil
	}
	multicast := dst.IsMulticast()
	for _, o := range ports {
		if o == t || o.addr.Is4() != t.addr.Is4() {
			continue
		}
		if multicast || o.addr == dst {
			o.deliver(p, false)
		}
	}
	return nil
}

// Close implements [vrrp.Transport]; it unblocks ReadFrom.
func (t *Transport) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}
