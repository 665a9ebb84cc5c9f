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

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (t TCP) Validate() error { return configError("tcp", t.validate()) }

func (t TCP) validate() error {
	return validAddrPort("address", t.Addr)
}

// CheckKey returns t itself.
func (t TCP) CheckKey() any { return t }

// Check connects to t.Addr.
func (t TCP) Check(ctx context.Context) error {
	target := t.Addr.String()
	if err := t.validate(); err != nil {
		return fail(ctx, "tcp", target, ReasonConfig, err)
	}
	c, err := dialer(t.Bind, t.Interface, "tcp").DialContext(ctx, "tcp", target)
	if err != nil {
		return fail(ctx, "tcp", target, ReasonConnect, err)
	}
	resetOnClose(c)
	_ = c.Close()
	return nil
}

// validAddrPort reports an address that is invalid or has port zero; what
// names it in the error.
func validAddrPort(what string, ap netip.AddrPort) error {
	if !ap.IsValid() || ap.Port() == 0 {
		return fmt.Errorf("%s %v: %w", what, ap, ErrInvalidConfig)
	}
	return nil
}

// connect dials target over network from bind and iface, and ties the
// connection to ctx: it carries ctx's deadline, if any, and is closed when
// ctx is done, so that no read or write outlives ctx. The caller must call
// release when done with the connection; release closes it.
func connect(ctx context.Context, network, target string, bind netip.AddrPort, iface string) (c net.Conn, release func(), err error) {
	c, err = dialer(bind, iface, network).DialContext(ctx, network, target)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, func() { stop(); _ = c.Close() }, nil
}

// resetOnClose makes closing c, if it is a TCP connection, send a reset
// (SO_LINGER 0) instead of a FIN, so that a checker running at a high rate
// leaves no TIME_WAIT sockets behind.
func resetOnClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
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
