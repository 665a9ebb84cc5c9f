//go:build !linux

package vrrp

import (
	"net"
	"net/netip"
)

var errListenNotSupported = ErrNotSupported

// Conn is the Linux raw-socket transport; on this platform [Listen] fails.
type Conn struct{}

// Listen returns an error on this platform.
func Listen(cfg ConnConfig) (*Conn, error) { return nil, errListenNotSupported }

// Source returns the zero address on this platform.
func (c *Conn) Source() netip.Addr { return netip.Addr{} }

// Interface returns nil on this platform.
func (c *Conn) Interface() *net.Interface { return nil }

// Stats returns zero counters on this platform.
func (c *Conn) Stats() ConnStats { return ConnStats{} }

// MulticastGroups returns nil on this platform.
func (c *Conn) MulticastGroups() []netip.Addr { return nil }

// Joined returns false on this platform.
func (c *Conn) Joined(g netip.Addr) bool { return false }

// JoinGroup returns an error on this platform.
func (c *Conn) JoinGroup(g netip.Addr) error { return errListenNotSupported }

// Transport returns an error on this platform.
func (c *Conn) Transport(vrid uint8) (Transport, error) { return nil, errListenNotSupported }

// TransportAH returns an error on this platform.
func (c *Conn) TransportAH(vrid uint8, key []byte) (Transport, error) {
	return nil, errListenNotSupported
}

// Close does nothing on this platform.
func (c *Conn) Close() error { return nil }
