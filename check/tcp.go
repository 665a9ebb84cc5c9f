package check

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// TCP is keepalived's TCP_CHECK: the target is up when a TCP connection to
// Addr can be established within the context's deadline. The connection is
// then reset (SO_LINGER 0), so a checker at a high rate leaves no TIME_WAIT
// sockets behind.
//
// TCP is comparable; it is its own check key.
type TCP struct {
	// Addr is the address and port to connect to (keepalived connect_ip,
	// connect_port). Required.
	Addr netip.AddrPort
	// Bind is the local source address and port (bindto, bind_port). If
	// zero, the kernel chooses. A zero port with a valid address binds only
	// the address.
	Bind netip.AddrPort
	// Interface binds the socket to a network device (bind_if) with
	// SO_BINDTODEVICE; Linux only. If empty, no device binding.
	Interface string
}

// Validate reports an invalid configuration.
func (t TCP) Validate() error {
	if !t.Addr.IsValid() || t.Addr.Port() == 0 {
		return fmt.Errorf("tcp: address %v: %w", t.Addr, ErrInvalidConfig)
	}
	return nil
}

// CheckKey returns t itself.
func (t TCP) CheckKey() any { return t }

// Check connects to t.Addr.
func (t TCP) Check(ctx context.Context) error {
	target := t.Addr.String()
	if err := t.Validate(); err != nil {
		return fail(ctx, "tcp", target, ReasonConfig, err)
	}
	d := dialer(t.Bind, t.Interface, "tcp")
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return fail(ctx, "tcp", target, ReasonConnect, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	return nil
}

// dialer returns a net.Dialer bound to bind and iface.
func dialer(bind netip.AddrPort, iface, network string) *net.Dialer {
	d := &net.Dialer{}
	if bind.Addr().IsValid() {
		switch network {
		case "udp":
			d.LocalAddr = net.UDPAddrFromAddrPort(bind)
		default:
			d.LocalAddr = net.TCPAddrFromAddrPort(bind)
		}
	}
	if iface != "" {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = bindToDevice(fd, iface) }); err != nil {
				return err
			}
			return serr
		}
	}
	return d
}
