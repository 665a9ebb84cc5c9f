//go:build !linux

package bfd

import "fmt"

// UDPTransport is the Linux UDP transport; on this system it cannot be
// created.
type UDPTransport struct{}

// errUDPNotSupported is the error of the UDP transport on this system.
var errUDPNotSupported = fmt.Errorf("bfd: udp transport: %w", ErrNotSupported)

// ListenUDP returns an error wrapping [ErrNotSupported] on this system.
func ListenUDP(cfg UDPConfig) (*UDPTransport, error) { return nil, errUDPNotSupported }

// ReadFrom implements [Transport].
func (*UDPTransport) ReadFrom([]byte) (int, Meta, error) { return 0, Meta{}, errUDPNotSupported }

// WriteTo implements [Transport].
func (*UDPTransport) WriteTo([]byte, Meta) error { return errUDPNotSupported }

// Close implements [Transport].
func (*UDPTransport) Close() error { return nil }

// SourcePort returns 0.
func (*UDPTransport) SourcePort() uint16 { return 0 }
