package testutil

import (
	"fmt"
	"testing"
)

// NewLAN creates n namespaces (2 ≤ n ≤ 250) whose "eth0" interfaces are all
// plugged into one Linux bridge "br0" living in a separate hub namespace, so
// n routers share one broadcast segment. Node i (from 0) has 192.0.2.(i+1)/24
// and 2001:db8::(i+1)/64, with duplicate address detection off. The hub's
// port to node i is "p<i>": capture there to see one router's traffic, or
// call hub.Partition(t, "p<i>") to cut it off the LAN. Multicast snooping is
// off, so VRRP and BFD multicast reach every node; the hub has no IPv6 and
// no addresses, so it adds no traffic of its own.
func NewLAN(t testing.TB, n int) (hub *NetNS, nodes []*NetNS) {
	t.Helper()
	if n < 2 || n > 250 {
		t.Fatalf("testutil: NewLAN(%d): want 2..250 nodes", n)
	}
	hub = NewNetNS(t)
	// The hub is a pure layer-2 switch: no IPv6 on the bridge or its ports
	// (no link-local addresses, router solicitations or MLD reports).
	hub.sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
	hub.sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
	hub.ip(t, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
	hub.ip(t, "link", "set", "br0", "up")
	for i := range n {
		node := NewNetNS(t)
		port := fmt.Sprintf("p%d", i)
		Link(t, node, "eth0", hub, port)
		hub.ip(t, "link", "set", port, "master", "br0")
		node.ip(t, "addr", "add", fmt.Sprintf("192.0.2.%d/24", i+1), "dev", "eth0")
		node.ip(t, "addr", "add", fmt.Sprintf("2001:db8::%x/64", i+1), "dev", "eth0", "nodad")
		nodes = append(nodes, node)
	}
	return hub, nodes
}
