package vrrp

import (
	"errors"
	"fmt"
	"net"
)

// ErrClosed is returned (wrapped) by the operations of a closed [Conn] or
// Transport; it is [net.ErrClosed], as in every package of the suite.
var ErrClosed = net.ErrClosed

// ErrNotSupported is returned (wrapped) by [Listen] and the methods of
// [Conn] on systems other than Linux. It wraps [errors.ErrUnsupported].
var ErrNotSupported = fmt.Errorf("vrrp: raw socket transport not supported on this platform: %w", errors.ErrUnsupported)
