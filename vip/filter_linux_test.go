package vip_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
)

// requireNFTables skips (a failure under KEEPALIVED_GO_REQUIRE_ALL) unless
// ns can hold an nftables inet table.
func requireNFTables(t *testing.T, ns *testutil.NetNS) {
	t.Helper()
	testutil.RequireCommand(t, "nft")
	ctx := context.Background()
	if out, err := ns.Command(ctx, "nft", "add", "table", "inet", "kgo_probe").CombinedOutput(); err != nil {
		testutil.Skip(t, "kernel without nf_tables: nft add table: %v: %s", err, out)
	}
	ns.Run(t, "nft", "delete", "table", "inet", "kgo_probe")
}

// pingOK reports whether one ping from ns to dst is answered within wait.
func pingOK(t *testing.T, ns *testutil.NetNS, dst string, wait time.Duration) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait+10*time.Second)
	defer cancel()
	err := ns.Command(ctx, "ping", "-n", "-c", "1", "-W", strconv.Itoa(int(wait.Seconds())), dst).Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ping %s: %v", dst, err)
	}
	return err == nil
}

// listenVRRP opens a raw socket for IP protocol 112 in ns.
func listenVRRP(t *testing.T, ns *testutil.NetNS, network string) net.PacketConn {
	t.Helper()
	var c net.PacketConn
	if err := ns.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, "")
		return err
	}); err != nil {
		t.Fatalf("listen %s in %s: %v", network, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIntegrationNoAccept: a NoAccept address drops a peer's ping while a
// normal one answers, VRRP (protocol 112) to it still arrives, the table
// lives in the Manager's namespace only and is gone after Close.
func TestIntegrationNoAccept(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "ping")
	a, b := testutil.NewPair(t)
	requireNFTables(t, a)
	// A leftover table of the same name (a crashed earlier run) is replaced.
	a.Run(t, "nft", "add", "table", "inet", "keepalived-go")
	a.Run(t, "nft", "add", "chain", "inet", "keepalived-go", "stale")
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	filtered4 := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", NoAccept: true}
	filtered6 := vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0", NoAccept: true}
	open4 := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.101/24"), Interface: "eth0"}
	if _, err := m.Apply(ctx, vip.Set{Addresses: []vip.Address{filtered4, filtered6, open4}}); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Filtered != 2 {
		t.Errorf("Stats.Filtered = %d, want 2", st.Filtered)
	}
	table := a.Run(t, "nft", "list", "table", "inet", "keepalived-go")
	for _, want := range []string{"192.0.2.100", "2001:db8::100", "hook input"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "stale") || strings.Contains(table, "192.0.2.101") {
		t.Errorf("table kept the leftover chain or filters the open address:\n%s", table)
	}
	if host, err := exec.Command("nft", "list", "tables").CombinedOutput(); err == nil && strings.Contains(string(host), "keepalived-go") {
		t.Errorf("the host namespace has the table:\n%s", host)
	}

	// The open address answers (the path works), the filtered ones do not.
	if !pingOK(t, b, "192.0.2.101", 10*time.Second) {
		t.Fatal("ping to the open address 192.0.2.101 failed")
	}
	for _, dst := range []string{"192.0.2.100", "2001:db8::100"} {
		if pingOK(t, b, dst, 2*time.Second) {
			t.Errorf("ping to the NoAccept address %s was answered", dst)
		}
	}
	counters := regexp.MustCompile(`counter packets (\d+)`).FindAllStringSubmatch(a.Run(t, "nft", "list", "table", "inet", "keepalived-go"), -1)
	if len(counters) != 2 || counters[0][1] == "0" || counters[1][1] == "0" {
		t.Errorf("drop counters = %q, want two non-zero", counters)
	}

	// VRRP to the filtered addresses still arrives.
	for _, tt := range []struct{ network, dst string }{{"ip4:112", "192.0.2.100"}, {"ip6:112", "2001:db8::100"}} {
		rx := listenVRRP(t, a, tt.network)
		tx := listenVRRP(t, b, tt.network)
		payload := []byte("kgo-vrrp-" + tt.dst)
		if _, err := tx.WriteTo(payload, &net.IPAddr{IP: net.ParseIP(tt.dst)}); err != nil {
			t.Fatalf("send protocol 112 to %s: %v", tt.dst, err)
		}
		// Bound for a loaded CI machine; the packet takes microseconds.
		rx.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 1500)
		for {
			n, _, err := rx.ReadFrom(buf)
			if err != nil {
				t.Fatalf("VRRP to %s did not arrive: %v", tt.dst, err)
			}
			// An IPv4 raw socket returns the IP header too.
			if bytes.HasSuffix(buf[:n], payload) {
				break
			}
		}
	}

	// The last filtered address gone: the table goes; Close leaves none.
	if _, err := m.Apply(ctx, vip.Set{Addresses: []vip.Address{filtered6, open4}}); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "nft", "list", "table", "inet", "keepalived-go"); strings.Contains(out, "192.0.2.100") {
		t.Errorf("removed address still filtered:\n%s", out)
	}
	if _, err := m.Apply(ctx, vip.Set{Addresses: []vip.Address{open4}}); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "nft", "list", "tables"); strings.Contains(out, "keepalived-go") {
		t.Errorf("table left with no NoAccept address:\n%s", out)
	}
	if _, err := m.Apply(ctx, vip.Set{Addresses: []vip.Address{filtered4, open4}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "nft", "list", "tables"); strings.Contains(out, "keepalived-go") {
		t.Errorf("table left after Close:\n%s", out)
	}
	if st := m.Stats(); st.Filtered != 0 {
		t.Errorf("Stats.Filtered after Close = %d", st.Filtered)
	}
}
