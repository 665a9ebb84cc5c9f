package vip

import "net/netip"

// AddrProto exposes addrProto to the external tests.
func (m *Manager) AddrProto(ifindex int, p netip.Prefix) (uint8, bool, error) {
	return m.addrProto(addrKey{ifindex, p})
}

// NumConns returns the number of open announcement sockets.
func (m *Manager) NumConns() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.conns)
}
