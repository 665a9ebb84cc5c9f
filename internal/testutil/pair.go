package testutil

import (
	"testing"
)

// Addresses given to the two ends of the link made by [NewPair].
const (
	PairA4 = "192.0.2.1"   // IPv4 address of eth0 in the first namespace
	PairB4 = "192.0.2.2"   // IPv4 address of eth0 in the second namespace
	PairA6 = "2001:db8::1" // IPv6 address of eth0 in the first namespace
	PairB6 = "2001:db8::2" // IPv6 address of eth0 in the second namespace
)

// NewPair creates two namespaces joined by a veth pair named "eth0" on both
// sides. a has 192.0.2.1/24 and 2001:db8::1/64, b has 192.0.2.2/24 and
// 2001:db8::2/64. Duplicate address detection is off (accept_dad=0 before the
// links come up), so the IPv6 link-local and global addresses are usable at
// once.
func NewPair(t testing.TB) (a, b *NetNS) {
	t.Helper()
	a = NewNetNS(t)
	b = NewNetNS(t)
	Link(t, a, "eth0", b, "eth0")
	a.ip(t, "addr", "add", PairA4+"/24", "dev", "eth0")
	a.ip(t, "addr", "add", PairA6+"/64", "dev", "eth0", "nodad")
	b.ip(t, "addr", "add", PairB4+"/24", "dev", "eth0")
	b.ip(t, "addr", "add", PairB6+"/64", "dev", "eth0", "nodad")
	return a, b
}

// Link creates a veth pair between two namespaces, ifA in a and ifB in b,
// sets accept_dad=0 on both ends and brings them up. The links disappear
// with the namespaces. a and b may be the same namespace.
func Link(t testing.TB, a *NetNS, ifA string, b *NetNS, ifB string) {
	t.Helper()
	a.ip(t, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b.Name)
	a.sysctl(t, "net.ipv6.conf."+ifA+".accept_dad", "0")
	b.sysctl(t, "net.ipv6.conf."+ifB+".accept_dad", "0")
	a.ip(t, "link", "set", ifA, "up")
	b.ip(t, "link", "set", ifB, "up")
}
