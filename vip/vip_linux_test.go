package vip_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
)

func newManager(t *testing.T, ns *testutil.NetNS, p vip.AnnouncePolicy) *vip.Manager {
	t.Helper()
	m, err := vip.New(vip.Config{NetNS: ns.Path(), Announce: p})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func hasAddr(t *testing.T, ns *testutil.NetNS, dev, prefix string) bool {
	t.Helper()
	out := ns.Run(t, "ip", "-o", "addr", "show", "dev", dev)
	return strings.Contains(out, " "+prefix+" ")
}

// neighWait waits (at most 10 s) until ns's neighbour entry for ip shows
// mac; it returns the last `ip neigh show` output and whether it did.
func neighWait(t *testing.T, ns *testutil.NetNS, ip, mac string) (string, bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := ns.Run(t, "ip", "neigh", "show", ip)
		if strings.Contains(out, mac) {
			return out, true
		}
		if time.Now().After(deadline) {
			return out, false
		}
	}
}

func TestIntegrationAddRemove(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	addrs := []vip.Address{
		{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:vip"},
		{Prefix: netip.MustParsePrefix("198.51.100.7/32"), Interface: "eth0", Scope: 254},
		{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"},
	}
	for _, x := range addrs {
		if err := m.Add(ctx, x); err != nil {
			t.Fatalf("Add(%v): %v", x, err)
		}
		if !hasAddr(t, a, "eth0", x.Prefix.String()) {
			t.Errorf("%v not present after Add", x)
		}
	}
	out := a.Run(t, "ip", "-o", "addr", "show", "dev", "eth0")
	for _, want := range []string{"eth0:vip", "198.51.100.7/32 scope host"} {
		if !strings.Contains(out, want) {
			t.Errorf("ip addr lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "2001:db8::100/64 scope global tentative") {
		t.Errorf("IPv6 VIP is tentative (nodad not set):\n%s", out)
	}
	if err := m.Remove(ctx, addrs[0]); err != nil {
		t.Fatal(err)
	}
	if hasAddr(t, a, "eth0", "192.0.2.100/24") {
		t.Error("192.0.2.100/24 still present after Remove")
	}
	if err := m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, x := range addrs {
		if hasAddr(t, a, "eth0", x.Prefix.String()) {
			t.Errorf("%v still present after RemoveAll", x)
		}
	}
	// The pair's own addresses are untouched.
	if !hasAddr(t, a, "eth0", "192.0.2.1/24") || !hasAddr(t, a, "eth0", "2001:db8::1/64") {
		t.Error("RemoveAll removed an address it did not add")
	}
	st := m.Stats()
	if st.AddrsAdded != 3 || st.AddrsRemoved != 3 || st.Errors != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestIntegrationOperatorAddressSurvives(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	a.Run(t, "ip", "addr", "add", "192.0.2.100/24", "dev", "eth0")
	a.Run(t, "ip", "addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad")
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	for _, p := range []string{"192.0.2.100/24", "2001:db8::100/64"} {
		x := vip.Address{Prefix: netip.MustParsePrefix(p), Interface: "eth0"}
		if err := m.Add(ctx, x); err != nil {
			t.Fatal(err)
		}
		if err := m.Remove(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"192.0.2.100/24", "2001:db8::100/64"} {
		if !hasAddr(t, a, "eth0", p) {
			t.Errorf("operator's %s removed", p)
		}
	}
	if st := m.Stats(); st.AddrsPreexisted != 2 || st.AddrsRemoved != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestIntegrationRoutesRules(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	// An operator's route with the same destination in another table survives.
	a.Run(t, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.2", "table", "100")
	routes := []vip.Route{
		{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")},
		{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Gateway: netip.MustParseAddr("2001:db8::2"), Interface: "eth0"},
		// Differs from the first by its metric only: a route of its own.
		{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2"), Metric: 100},
	}
	rules := []vip.Rule{
		{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100, Priority: 1000},
		{To: netip.MustParsePrefix("2001:db8:2::/48"), Table: 100, Priority: 1001},
		// Differs from the first by its input interface only.
		{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100, Priority: 1000, IifName: "eth0"},
	}
	for _, r := range routes {
		if err := m.AddRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rules {
		if err := m.AddRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	out := a.Run(t, "ip", "route", "show", "proto", "keepalived")
	for _, want := range []string{"203.0.113.0/24 via 192.0.2.2 dev eth0 \n", "203.0.113.0/24 via 192.0.2.2 dev eth0 metric 100"} {
		if !strings.Contains(out, want) {
			t.Errorf("route %q not added or not marked proto keepalived:\n%s", want, out)
		}
	}
	if out := a.Run(t, "ip", "-6", "route", "show", "proto", "keepalived"); !strings.Contains(out, "2001:db8:1::/48") {
		t.Errorf("IPv6 route missing:\n%s", out)
	}
	out = a.Run(t, "ip", "rule", "show")
	for _, want := range []string{"1000:\tfrom 192.0.2.100 lookup 100 proto keepalived", "1000:\tfrom 192.0.2.100 iif eth0 lookup 100 proto keepalived"} {
		if !strings.Contains(out, want) {
			t.Errorf("rule %q missing:\n%s", want, out)
		}
	}
	if out := a.Run(t, "ip", "-6", "rule", "show"); !strings.Contains(out, "1001:") {
		t.Errorf("IPv6 rule missing:\n%s", out)
	}
	if err := m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if out := a.Run(t, "ip", "route", "show", "proto", "keepalived"); out != "" {
		t.Errorf("routes left:\n%s", out)
	}
	if out := a.Run(t, "ip", "rule", "show"); strings.Contains(out, "lookup 100") {
		t.Errorf("rules left:\n%s", out)
	}
	if out := a.Run(t, "ip", "route", "show", "table", "100"); !strings.Contains(out, "203.0.113.0/24") {
		t.Errorf("operator's route removed:\n%s", out)
	}
}

func TestIntegrationVMAC(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{SecondBurstDelay: -1})
	ctx := context.Background()
	v := vip.VMAC{Name: "vrrp.51", Parent: "eth0", VRID: 51}
	if err := m.CreateVMAC(ctx, v); err != nil {
		t.Fatal(err)
	}
	out := a.Run(t, "ip", "-d", "link", "show", "vrrp.51")
	for _, want := range []string{"00:00:5e:00:01:33", "macvlan mode private", "state UP"} {
		if !strings.Contains(out, want) {
			t.Errorf("vmac lacks %q:\n%s", want, out)
		}
	}
	if got := strings.TrimSpace(a.Run(t, "sysctl", "-n", "net.ipv4.conf.vrrp/51.arp_ignore")); got != "1" {
		t.Errorf("arp_ignore on vmac = %q", got)
	}
	x := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/32"), Interface: "vrrp.51"}
	if err := m.Add(ctx, x); err != nil {
		t.Fatal(err)
	}
	b.Run(t, "ip", "neigh", "replace", "192.0.2.100", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "stale")
	if err := m.Announce(ctx, "vrrp.51", []netip.Addr{x.Prefix.Addr()}); err != nil {
		t.Fatal(err)
	}
	// The peer's neighbour entry for the VIP now points at the virtual MAC.
	if out, ok := neighWait(t, b, "192.0.2.100", "00:00:5e:00:01:33"); !ok {
		t.Errorf("peer neighbour entry: %s", out)
	}
	if err := m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := m.NumConns(); n != 0 {
		t.Errorf("%d announcement sockets left after the VMAC was deleted", n)
	}
	if out := a.Run(t, "ip", "-o", "link", "show"); strings.Contains(out, "vrrp.51") {
		t.Errorf("vmac left:\n%s", out)
	}
	if got := strings.TrimSpace(a.Run(t, "sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore")); got != "0" {
		t.Errorf("parent arp_ignore not restored: %q", got)
	}
}

// TestIntegrationAnnounce checks that the peer's neighbour table follows our
// gratuitous ARP and unsolicited NA (the Override flag replaces a stale
// entry), and that the policy's bursts are sent.
func TestIntegrationAnnounce(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{Repeat: 3, Interval: time.Millisecond, SecondBurstDelay: 50 * time.Millisecond})
	ctx := context.Background()
	// Wrong entries the announcements must fix.
	b.Run(t, "ip", "neigh", "replace", "192.0.2.100", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "stale")
	b.Run(t, "ip", "neigh", "replace", "2001:db8::100", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "stale")
	mac := strings.Fields(a.Run(t, "cat", "/sys/class/net/eth0/address"))[0]
	capt := testutil.StartCapture(t, b, "eth0", "arp or icmp6")
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}
	for _, p := range []string{"192.0.2.100/24", "2001:db8::100/64"} {
		if err := m.Add(ctx, vip.Address{Prefix: netip.MustParsePrefix(p), Interface: "eth0"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Announce(ctx, "eth0", vips); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"192.0.2.100", "2001:db8::100"} {
		if out, ok := neighWait(t, b, ip, mac); !ok {
			t.Fatalf("peer neighbour table not updated to %s:\n%s", mac, out)
		}
	}
	// The second burst is due 50 ms after the first: wait for both (at most
	// 10 s on a loaded machine) before stopping, then check exact counts.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if st := m.Stats(); st.GARPsSent >= 12 && st.NAsSent >= 6 {
			break
		}
	}
	m.StopAnnounce("eth0")
	pcap := capt.Stop()
	if w := testutil.ExpertInfo(t, pcap); len(w) != 0 {
		t.Errorf("tshark expert warnings: %q", w)
	}
	var arpReq, arpRep, na int
	for _, r := range testutil.TsharkFields(t, pcap, "arp.opcode", "arp.isgratuitous", "icmpv6.type", "icmpv6.nd.na.flag.o", "icmpv6.checksum.status", "ipv6.hlim") {
		switch {
		case r[0] == "1" && r[1] == "1":
			arpReq++
		case r[0] == "2" && r[1] == "1":
			arpRep++
		case r[2] == "136":
			if r[3] != "1" || r[4] != "1" || r[5] != "255" {
				t.Errorf("NA fields (override, checksum status, hop limit) = %q", r[3:])
			}
			na++
		}
	}
	if arpReq != 6 || arpRep != 6 || na != 6 {
		t.Errorf("on the wire: %d gratuitous ARP requests, %d replies, %d NAs; want 6 each", arpReq, arpRep, na)
	}
	st := m.Stats()
	// 2 bursts × 3 rounds × (request + reply) and 2 × 3 NAs.
	if st.GARPsSent != 12 || st.NAsSent != 6 {
		t.Errorf("GARPsSent=%d NAsSent=%d, want 12 and 6", st.GARPsSent, st.NAsSent)
	}
}

// TestIntegrationOperatorReplacedAddress: an operator deletes our address
// and adds the same one by hand; Close must leave the operator's copy.
func TestIntegrationOperatorReplacedAddress(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	for _, p := range []string{"192.0.2.100/24", "2001:db8::100/64"} {
		if err := m.Add(ctx, vip.Address{Prefix: netip.MustParsePrefix(p), Interface: "eth0"}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := a.Handle(t).LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"192.0.2.100/24", "2001:db8::100/64", "192.0.2.1/24"} {
		proto, found, err := m.AddrProto(l.Attrs().Index, netip.MustParsePrefix(p))
		want := uint8(vip.AddrProtocol)
		if p == "192.0.2.1/24" {
			want = 0 // the pair's own address
		}
		if err != nil || !found || proto != want {
			t.Errorf("IFA_PROTO of %s = %d, %v, %v; want %d", p, proto, found, err, want)
		}
	}
	a.Run(t, "ip", "addr", "del", "192.0.2.100/24", "dev", "eth0")
	a.Run(t, "ip", "addr", "add", "192.0.2.100/24", "dev", "eth0")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !hasAddr(t, a, "eth0", "192.0.2.100/24") {
		t.Error("operator's re-added 192.0.2.100/24 removed")
	}
	if hasAddr(t, a, "eth0", "2001:db8::100/64") {
		t.Error("our 2001:db8::100/64 not removed")
	}
}

// BenchmarkAnnounceOnce measures one announcement round on a veth in a
// namespace: a gratuitous ARP request and reply for one IPv4 address, and
// one unsolicited NA for one IPv6 address.
func BenchmarkAnnounceOnce(b *testing.B) {
	testutil.RequireRoot(b)
	a, _ := testutil.NewPair(b)
	m, err := vip.New(vip.Config{NetNS: a.Path()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		addr netip.Addr
	}{{"garp", netip.MustParseAddr("192.0.2.100")}, {"na", netip.MustParseAddr("2001:db8::100")}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			addrs := []netip.Addr{tt.addr}
			for b.Loop() {
				if err := m.AnnounceOnce(ctx, "eth0", addrs, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIntegrationAnnounceRefresh: the periodic refresh keeps announcing
// until StopAnnounce, and nothing is sent afterwards.
func TestIntegrationAnnounceRefresh(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{Repeat: 1, SecondBurstDelay: -1, Refresh: 20 * time.Millisecond, RefreshRepeat: 2})
	ctx := context.Background()
	if err := m.Announce(ctx, "eth0", []netip.Addr{netip.MustParseAddr("192.0.2.100")}); err != nil {
		t.Fatal(err)
	}
	// First burst: 1 round (2 frames); each refresh: 2 rounds (4 frames).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && m.Stats().GARPsSent < 2+3*4; {
		time.Sleep(10 * time.Millisecond)
	}
	m.StopAnnounce("eth0")
	n := m.Stats().GARPsSent
	if n < 2+3*4 {
		t.Fatalf("GARPsSent = %d, want at least 14", n)
	}
	time.Sleep(60 * time.Millisecond)
	if got := m.Stats().GARPsSent; got != n {
		t.Errorf("GARPsSent went from %d to %d after StopAnnounce", n, got)
	}
}

// TestIntegrationAnnounceConcurrent: concurrent Announce calls on one
// interface leave one announcer, which StopAnnounce ends; Close returns
// with Announce calls racing it.
func TestIntegrationAnnounceConcurrent(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m, err := vip.New(vip.Config{NetNS: a.Path(), Announce: vip.AnnouncePolicy{Repeat: 1, SecondBurstDelay: -1, Refresh: 5 * time.Millisecond, RefreshRepeat: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.100")}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := m.Announce(ctx, "eth0", addrs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	m.StopAnnounce("eth0")
	n := m.Stats().GARPsSent
	time.Sleep(50 * time.Millisecond) // 10 refresh periods
	if got := m.Stats().GARPsSent; got != n {
		t.Errorf("GARPsSent went from %d to %d after StopAnnounce", n, got)
	}

	for range 4 {
		wg.Go(func() {
			for i := 0; i < 10000 && m.Announce(ctx, "eth0", addrs) == nil; i++ {
			}
		})
	}
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return with Announce calls racing it")
	}
	wg.Wait()
}

// TestIntegrationRemoveAfterLinkGone: Remove of an owned address whose
// interface was deleted is not an error and forgets it.
func TestIntegrationRemoveAfterLinkGone(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	a.Run(t, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	x := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.1/24"), Interface: "d0"}
	if err := m.Add(ctx, x); err != nil {
		t.Fatal(err)
	}
	a.Run(t, "ip", "link", "del", "d0")
	if err := m.Remove(ctx, x); err != nil {
		t.Errorf("Remove after the link was deleted = %v", err)
	}
	if got := m.Owned(); len(got) != 0 {
		t.Errorf("Owned = %v, want none", got)
	}
}
