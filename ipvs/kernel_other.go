//go:build !linux

package ipvs

import "context"

// Netlink is the Linux [Kernel]; on other systems every method fails with
// ErrNotSupported.
type Netlink struct{}

var _ Kernel = (*Netlink)(nil)

// Open fails with ErrNotSupported: IPVS exists only on Linux.
func Open(ctx context.Context) (*Netlink, error) { return nil, ErrNotSupported }

// Dial fails with ErrNotSupported: IPVS exists only on Linux.
func Dial(ctx context.Context, cfg Config) (*Manager, error) { return nil, ErrNotSupported }

// Close does nothing.
func (k *Netlink) Close() error { return nil }

// State fails with ErrNotSupported.
func (k *Netlink) State(ctx context.Context) (State, error) { return State{}, ErrNotSupported }

// Exec fails with ErrNotSupported.
func (k *Netlink) Exec(ctx context.Context, op Op) error { return ErrNotSupported }

// Daemons fails with ErrNotSupported.
func (k *Netlink) Daemons(ctx context.Context) ([]SyncDaemon, error) { return nil, ErrNotSupported }

// StartDaemon fails with ErrNotSupported.
func (k *Netlink) StartDaemon(ctx context.Context, d SyncDaemon) error { return ErrNotSupported }

// StopDaemon fails with ErrNotSupported.
func (k *Netlink) StopDaemon(ctx context.Context, r Role) error { return ErrNotSupported }

// Zero fails with ErrNotSupported.
func (k *Netlink) Zero(ctx context.Context, key ServiceKey) error { return ErrNotSupported }
