package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// linkReadyTimeout bounds the wait for a new veth end to be ready to send.
const linkReadyTimeout = 10 * time.Second

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
// links come up) and NewPair returns only once both ends are up with their
// link-local address, so the IPv6 link-local and global addresses are usable
// at once and the first packet is not lost.
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
// sets accept_dad=0 on both ends, brings them up and waits until both are
// ready to send (see [NetNS.waitLinkReady]). The links disappear with the
// namespaces. a and b may be the same namespace.
func Link(t testing.TB, a *NetNS, ifA string, b *NetNS, ifB string) {
	t.Helper()
	a.ip(t, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b.Name)
	a.sysctl(t, "net.ipv6.conf."+ifA+".accept_dad", "0")
	b.sysctl(t, "net.ipv6.conf."+ifB+".accept_dad", "0")
	a.ip(t, "link", "set", ifA, "up")
	b.ip(t, "link", "set", ifB, "up")
	a.waitLinkReady(t, ifA)
	b.waitLinkReady(t, ifB)
}

// waitLinkReady waits until iface is operationally up and, where IPv6 is
// enabled on it, has a link-local address that is not tentative. Carrier on
// a veth is only acted on later by the kernel's link watcher: until then the
// device sends through a queue that drops everything (the first ICMPv6 echo
// or neighbour solicitation is lost) and has no link-local address. The
// kernel adds the link-local address once that queue is replaced, so its
// presence means the link carries packets. It fails the test after
// linkReadyTimeout.
func (ns *NetNS) waitLinkReady(t testing.TB, iface string) {
	t.Helper()
	h, err := ns.handle()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	defer h.Close()
	v6 := ns.ipv6Enabled(iface)
	deadline := time.Now().Add(linkReadyTimeout)
	for {
		why := linkNotReady(h, iface, v6)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: %s in %s not ready after %v: %s", iface, ns.Name, linkReadyTimeout, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ipv6Enabled reports whether IPv6 is enabled on iface in the namespace
// (net.ipv6.conf.<iface>.disable_ipv6 exists and is 0).
func (ns *NetNS) ipv6Enabled(iface string) bool {
	var v []byte
	err := ns.Do(func() error {
		var err error
		v, err = os.ReadFile(filepath.Join("/proc/sys/net/ipv6/conf", iface, "disable_ipv6"))
		return err
	})
	return err == nil && strings.TrimSpace(string(v)) == "0"
}
