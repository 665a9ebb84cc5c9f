//go:build !linux

package vip

import (
	"context"
	"net/netip"
)

// Manager manages virtual addresses. On this platform every operation
// returns ErrNotSupported.
type Manager struct{}

// New returns ErrNotSupported on this platform.
func New(cfg Config) (*Manager, error) { return nil, ErrNotSupported }

// Add returns ErrNotSupported on this platform.
func (m *Manager) Add(ctx context.Context, a Address) error { return ErrNotSupported }

// Remove returns ErrNotSupported on this platform.
func (m *Manager) Remove(ctx context.Context, a Address) error { return ErrNotSupported }

// Owned returns nil on this platform.
func (m *Manager) Owned() []Address { return nil }

// AddRoute returns ErrNotSupported on this platform.
func (m *Manager) AddRoute(ctx context.Context, r Route) error { return ErrNotSupported }

// RemoveRoute returns ErrNotSupported on this platform.
func (m *Manager) RemoveRoute(ctx context.Context, r Route) error { return ErrNotSupported }

// AddRule returns ErrNotSupported on this platform.
func (m *Manager) AddRule(ctx context.Context, r Rule) error { return ErrNotSupported }

// RemoveRule returns ErrNotSupported on this platform.
func (m *Manager) RemoveRule(ctx context.Context, r Rule) error { return ErrNotSupported }

// CreateVMAC returns ErrNotSupported on this platform.
func (m *Manager) CreateVMAC(ctx context.Context, v VMAC) error { return ErrNotSupported }

// DeleteVMAC returns ErrNotSupported on this platform.
func (m *Manager) DeleteVMAC(ctx context.Context, name string) error { return ErrNotSupported }

// AnnounceOnce returns ErrNotSupported on this platform.
func (m *Manager) AnnounceOnce(ctx context.Context, iface string, addrs []netip.Addr, repeat int) error {
	return ErrNotSupported
}

// Announce returns ErrNotSupported on this platform.
func (m *Manager) Announce(ctx context.Context, iface string, addrs []netip.Addr) error {
	return ErrNotSupported
}

// StopAnnounce does nothing on this platform.
func (m *Manager) StopAnnounce(iface string) {}

// RemoveAll returns ErrNotSupported on this platform.
func (m *Manager) RemoveAll(ctx context.Context) error { return ErrNotSupported }

// Close does nothing on this platform.
func (m *Manager) Close() error { return nil }

// Stats returns zero counters on this platform.
func (m *Manager) Stats() Stats { return Stats{} }

// Apply returns ErrNotSupported on this platform.
func (m *Manager) Apply(ctx context.Context, desired Set) (Changes, error) {
	return Changes{}, ErrNotSupported
}

// OwnedSet returns the zero Set on this platform.
func (m *Manager) OwnedSet() Set { return Set{} }

// Watch returns ErrNotSupported on this platform.
func (m *Manager) Watch(ctx context.Context, cfg WatchConfig) (<-chan Event, error) {
	return nil, ErrNotSupported
}
