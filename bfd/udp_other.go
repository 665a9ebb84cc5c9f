//go:build !linux

package bfd

import "fmt"

// UDPTransport is the Linux UDP transport; on this system it cannot be
// created.
type UDPTransport struct{}

// ListenUDP returns an error wrapping [ErrNotSupported] on this system.
func ListenUDP(cfg UDPConfig) (*UDPTransport, error) {
	return nil, fmt.Errorf("bfd: udp transport: %w", ErrNotSupported)
}

// ReadFrom implements [Transport].
func (*UDPTransport) ReadFrom([]byte) (int, Meta, error) { return 0, Meta{}, ErrNotSupported }

// WriteTo implements [Transport].
func (*UDPTransport) WriteTo([]byte, Meta) error { return ErrNotSupported }

// Close implements [Transport].
func (*UDPTransport) Close() error { return nil }

// SourcePort returns 0.
func (*UDPTransport) SourcePort() uint16 { return 0 }
