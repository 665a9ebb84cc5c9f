package testutil

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var nftUnsafe = regexp.MustCompile(`[^A-Za-z0-9_]`)

// Loss drops the given percentages of packets arriving at (ingress) and
// leaving (egress) iface, chosen at random per packet by an nftables netdev
// table (numgen random mod 100). It sees every frame, raw VRRP included. A
// percentage of 0 leaves that direction alone. The returned func removes the
// table; cleanup also removes it. Several Loss and Partition calls may be
// active at once.
func (ns *NetNS) Loss(t testing.TB, iface string, ingressPct, egressPct int) func() {
	t.Helper()
	if ingressPct < 0 || ingressPct > 100 || egressPct < 0 || egressPct > 100 {
		t.Fatalf("testutil: Loss percentages must be in [0, 100], got %d/%d", ingressPct, egressPct)
	}
	rule := func(pct int) string {
		if pct == 0 {
			return ""
		}
		return fmt.Sprintf("numgen random mod 100 < %d counter drop", pct)
	}
	return ns.nftDrop(t, "kgo_loss", iface, rule(ingressPct), rule(egressPct))
}

// Partition drops every packet arriving at or leaving iface until the
// returned func is called (or the test ends).
func (ns *NetNS) Partition(t testing.TB, iface string) func() {
	t.Helper()
	return ns.nftDrop(t, "kgo_part", iface, "counter drop", "counter drop")
}

// nftDrop installs a netdev table with an ingress and/or egress chain on
// iface holding the given rule, and returns its idempotent remover.
func (ns *NetNS) nftDrop(t testing.TB, prefix, iface, ingress, egress string) func() {
	t.Helper()
	RequireCommand(t, "nft")
	table := fmt.Sprintf("%s_%s_%d", prefix, nftUnsafe.ReplaceAllString(iface, "_"), ns.next())
	var b strings.Builder
	fmt.Fprintf(&b, "table netdev %s {\n", table)
	for _, c := range []struct{ hook, rule string }{{"ingress", ingress}, {"egress", egress}} {
		if c.rule == "" {
			continue
		}
		fmt.Fprintf(&b, "  chain %s { type filter hook %s device %q priority 0; policy accept; %s; }\n",
			c.hook, c.hook, iface, c.rule)
	}
	b.WriteString("}\n")
	ns.nft(t, b.String())
	var once sync.Once
	remove := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
			defer cancel()
			cmd := ns.Command(ctx, "nft", "delete", "table", "netdev", table)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("testutil: nft delete table netdev %s in %s: %v: %s", table, ns.Name, err, out)
			}
		})
	}
	t.Cleanup(remove)
	return remove
}

// nft loads a ruleset text into the namespace with "nft -f -".
func (ns *NetNS) nft(t testing.TB, ruleset string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := ns.Command(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testutil: nft -f in %s: %v: %s\nruleset:\n%s", ns.Name, err, out, ruleset)
	}
}
