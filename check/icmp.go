package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP is keepalived's PING_CHECK: it sends one ICMP (or ICMPv6) echo
// request to Addr and waits for the matching echo reply.
//
// Unprivileged mode (the default) uses a Linux ping socket
// (SOCK_DGRAM, IPPROTO_ICMP), which needs the caller's group inside
// net.ipv4.ping_group_range. Privileged mode uses a raw socket and needs
// CAP_NET_RAW. Replies are matched by identifier (raw sockets only: the
// kernel rewrites it on ping sockets), sequence number and a random payload
// token, so concurrent checks never take each other's replies.
type ICMP struct {
	// Addr is the target address. Required.
	Addr netip.Addr
	// Privileged selects a raw socket instead of a ping socket.
	Privileged bool
	// Size is the echo payload size in bytes, at least 8. If zero, 56.
	Size int
	// Wait bounds the wait when the context has no deadline. If zero,
	// DefaultUDPWait.
	Wait time.Duration
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (p ICMP) Validate() error { return configError("icmp", p.validate()) }

func (p ICMP) validate() error {
	if !p.Addr.IsValid() {
		return fmt.Errorf("address %v: %w", p.Addr, ErrInvalidConfig)
	}
	if p.Size != 0 && (p.Size < 8 || p.Size > 65000) {
		return fmt.Errorf("size %d: %w", p.Size, ErrInvalidConfig)
	}
	return nil
}

// CheckKey returns p itself.
func (p ICMP) CheckKey() any { return p }

// Check sends the echo request and waits for its reply.
func (p ICMP) Check(ctx context.Context) error {
	target := p.Addr.String()
	if err := p.validate(); err != nil {
		return fail(ctx, "icmp", target, ReasonConfig, err)
	}
	addr := p.Addr.Unmap()
	v6 := addr.Is6()
	network, laddr, proto := "udp4", "0.0.0.0", 1
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if v6 {
		network, laddr, proto, typ = "udp6", "::", 58, ipv6.ICMPTypeEchoRequest
	}
	if p.Privileged {
		network = "ip4:icmp"
		if v6 {
			network = "ip6:ipv6-icmp"
		}
	}
	c, err := icmp.ListenPacket(network, laddr)
	if err != nil {
		return fail(ctx, "icmp", target, ReasonConnect, fmt.Errorf("listen %s: %w", network, err))
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	dl := replyDeadline(ctx, p.Wait)
	_ = c.SetDeadline(dl)

	size := p.Size
	if size == 0 {
		size = 56
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	id, seq := int(rand.Uint32()&0xffff), int(rand.Uint32()&0xffff)
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	wire, err := msg.Marshal(nil) // the kernel computes the ICMPv6 checksum
	if err != nil {
		return fail(ctx, "icmp", target, ReasonConfig, err)
	}
	var dst net.Addr = &net.UDPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	if p.Privileged {
		dst = &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	}
	if _, err := c.WriteTo(wire, dst); err != nil {
		return fail(ctx, "icmp", target, ReasonConnect, fmt.Errorf("send echo: %w", err))
	}
	matchID := id
	if !p.Privileged {
		matchID = -1 // the kernel rewrites the identifier of ping sockets
	}
	buf := make([]byte, 1500+size)
	for range 4096 {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Our read deadline (just before the context's) passed.
				return &Error{Check: "icmp", Target: target, Reason: ReasonNoReply, Err: ErrNoReply}
			}
			return fail(ctx, "icmp", target, ReasonProtocol, err)
		}
		if fromAddr(from, addr) && matchEcho(proto, buf[:n], matchID, seq, data) {
			return nil
		}
	}
	return fail(ctx, "icmp", target, ReasonNoReply, fmt.Errorf("too many unrelated packets: %w", ErrNoReply))
}

func fromAddr(a net.Addr, want netip.Addr) bool {
	var ip net.IP
	switch v := a.(type) {
	case *net.UDPAddr:
		ip = v.IP
	case *net.IPAddr:
		ip = v.IP
	default:
		return false
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == want.WithZone("")
}

// matchEcho reports whether b is an echo reply with the given identifier
// (any if id < 0), sequence number and payload. It never panics.
func matchEcho(proto int, b []byte, id, seq int, data []byte) bool {
	m, err := icmp.ParseMessage(proto, b)
	if err != nil {
		return false
	}
	if m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply {
		return false
	}
	e, ok := m.Body.(*icmp.Echo)
	if !ok || e.Seq != seq || (id >= 0 && e.ID != id) {
		return false
	}
	return string(e.Data) == string(data)
}
