//go:build !linux

package ipvs

import (
	"context"
	"fmt"
)

var errNeedLinux = fmt.Errorf("ipvs: IPVS exists only on Linux: %w", ErrNotSupported)

// Netlink is the Linux [Kernel]; on other systems every method fails with
// ErrNotSupported.
type Netlink struct{}

var _ Kernel = (*Netlink)(nil)

// Open fails with ErrNotSupported: IPVS exists only on Linux.
func Open(ctx context.Context) (*Netlink, error) { return nil, errNeedLinux }

// OpenAt fails with ErrNotSupported: IPVS exists only on Linux.
func OpenAt(ctx context.Context, path string) (*Netlink, error) { return nil, errNeedLinux }

// Dial fails with ErrNotSupported: IPVS exists only on Linux.
func Dial(ctx context.Context, cfg Config) (*Manager, error) { return nil, errNeedLinux }

// Close does nothing.
func (k *Netlink) Close() error { return nil }

// State fails with ErrNotSupported.
func (k *Netlink) State(ctx context.Context) (State, error) { return State{}, errNeedLinux }

// Exec fails with ErrNotSupported.
func (k *Netlink) Exec(ctx context.Context, op Op) error { return errNeedLinux }

// Daemons fails with ErrNotSupported.
func (k *Netlink) Daemons(ctx context.Context) ([]SyncDaemon, error) { return nil, errNeedLinux }

// StartDaemon fails with ErrNotSupported.
func (k *Netlink) StartDaemon(ctx context.Context, d SyncDaemon) error { return errNeedLinux }

// StopDaemon fails with ErrNotSupported.
func (k *Netlink) StopDaemon(ctx context.Context, r Role) error { return errNeedLinux }

// Zero fails with ErrNotSupported.
func (k *Netlink) Zero(ctx context.Context, key ServiceKey) error { return errNeedLinux }
