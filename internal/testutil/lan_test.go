package testutil_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestIntegrationLAN pings between every node of a 3-node bridged LAN, then
// cuts one node off with a partition on its hub port.
func TestIntegrationLAN(t *testing.T) {
	testutil.RequireCommand(t, "ping")
	hub, nodes := testutil.NewLAN(t, 3)
	for i, from := range nodes {
		for j := range nodes {
			if i == j {
				continue
			}
			from.Run(t, "ping", "-c", "1", "-W", "5", fmt.Sprintf("192.0.2.%d", j+1))
			from.Run(t, "ping", "-6", "-c", "1", "-W", "5", fmt.Sprintf("2001:db8::%d", j+1))
		}
	}
	// All-nodes multicast reaches both other nodes through the bridge.
	self := linkLocal(t, nodes[0], "eth0")
	out := nodes[0].Run(t, "ping", "-6", "-c", "2", "-W", "2", "ff02::1%eth0")
	others := map[string]bool{}
	for _, m := range fromRE.FindAllStringSubmatch(out, -1) {
		if m[1] != self {
			others[m[1]] = true
		}
	}
	if len(others) != 2 {
		t.Errorf("ff02::1 answered by %d other nodes, want 2:\n%s", len(others), out)
	}
	heal := hub.Partition(t, "p2")
	if got := ping(t, nodes[0], 3, "192.0.2.3"); got != 0 {
		t.Errorf("node 2 cut off, yet %d replies", got)
	}
	if got := ping(t, nodes[0], 3, "192.0.2.2"); got != 3 {
		t.Errorf("node 1 still on the LAN, yet %d of 3 replies", got)
	}
	heal()
}

var fromRE = regexp.MustCompile(`bytes from (fe80::[0-9a-f:]+)`)
