package vip_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
)

// eventWait bounds how long a test waits for one event: netlink
// notifications arrive in microseconds, but CI is a loaded 2-core machine.
const eventWait = 30 * time.Second

// nextEvent returns the first event from ch for which match is true,
// failing after eventWait or if ch closes. skipped gets the events before it.
func nextEvent(t *testing.T, ch <-chan vip.Event, what string, match func(vip.Event) bool) (got vip.Event, skipped []vip.Event) {
	t.Helper()
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed while waiting for %s (saw %v)", what, skipped)
			}
			if match(e) {
				return e, skipped
			}
			skipped = append(skipped, e)
		case <-timer.C:
			t.Fatalf("no %s within %v (saw %v)", what, eventWait, skipped)
		}
	}
}

func isLink(kind vip.EventKind, name string) func(vip.Event) bool {
	return func(e vip.Event) bool { return e.Kind == kind && e.Interface == name }
}

func isAddrRemoved(p string) func(vip.Event) bool {
	return func(e vip.Event) bool { return e.Kind == vip.AddressRemoved && e.Address.Prefix.String() == p }
}

// waitClosed fails unless ch is closed (after draining) within eventWait.
func waitClosed(t *testing.T, ch <-chan vip.Event) {
	t.Helper()
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatal("event channel not closed")
		}
	}
}

func TestIntegrationWatch(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	ch, err := m.Watch(ctx, vip.WatchConfig{})
	if err != nil {
		t.Fatal(err)
	}

	// A veth pair (no dummy driver on every test kernel) with its peer
	// up, so d0 runs whenever it is up.
	a.Run(t, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
	added, _ := nextEvent(t, ch, "LinkAdded d0", isLink(vip.LinkAdded, "d0"))
	if added.Up || added.Index == 0 {
		t.Errorf("LinkAdded = %v, want down with an index", added)
	}
	a.Run(t, "ip", "link", "set", "d0p", "up")
	a.Run(t, "ip", "link", "set", "d0", "up")
	nextEvent(t, ch, "LinkUp d0", isLink(vip.LinkUp, "d0"))

	// Owned address and route on d0; a link down flushes the IPv4 route
	// without a notification, and the watcher still reports it.
	addr := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.1/24"), Interface: "d0"}
	route := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("198.51.100.2")}
	set := vip.Set{Addresses: []vip.Address{addr}, Routes: []vip.Route{route}}
	if _, err := m.Apply(ctx, set); err != nil {
		t.Fatal(err)
	}
	a.Run(t, "ip", "link", "set", "d0", "down")
	nextEvent(t, ch, "LinkDown d0", isLink(vip.LinkDown, "d0"))
	nextEvent(t, ch, "RouteRemoved after link down", func(e vip.Event) bool { return e.Kind == vip.RouteRemoved && e.Route == route })
	a.Run(t, "ip", "link", "set", "d0", "up")
	nextEvent(t, ch, "LinkUp d0", isLink(vip.LinkUp, "d0"))
	if ch, err := m.Apply(ctx, set); err != nil || ch.Count(vip.OpAddRoute) != 1 {
		t.Fatalf("Apply after the flush = %v, %v; want the route put back", ch, err)
	}

	// Removed from outside: reported. Removed by us: not reported.
	own := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	if err := m.Add(ctx, own); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, own); err != nil {
		t.Fatal(err)
	}
	a.Run(t, "ip", "route", "del", "203.0.113.0/24")
	nextEvent(t, ch, "RouteRemoved after ip route del", func(e vip.Event) bool { return e.Kind == vip.RouteRemoved && e.Route == route })
	a.Run(t, "ip", "addr", "del", "198.51.100.1/24", "dev", "d0")
	got, skipped := nextEvent(t, ch, "AddressRemoved", isAddrRemoved("198.51.100.1/24"))
	if got.Interface != "d0" || got.Address != addr {
		t.Errorf("AddressRemoved = %v, want %v on d0", got, addr)
	}
	for _, e := range skipped {
		if e.Kind == vip.AddressRemoved {
			t.Errorf("our own Remove was reported: %v", e)
		}
	}

	// Deleting the link takes the (restored) owned address with it;
	// recreating it gives a new index.
	if _, err := m.Apply(ctx, set); err != nil {
		t.Fatal(err)
	}
	a.Run(t, "ip", "link", "del", "d0")
	_, before := nextEvent(t, ch, "LinkDeleted d0", isLink(vip.LinkDeleted, "d0"))
	a.Run(t, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
	re, skipped := nextEvent(t, ch, "LinkAdded d0 again", isLink(vip.LinkAdded, "d0"))
	skipped = append(before, skipped...)
	if re.Index == added.Index {
		t.Errorf("recreated d0 has the old index %d", re.Index)
	}
	sawAddr := false
	for _, e := range skipped {
		sawAddr = sawAddr || isAddrRemoved("198.51.100.1/24")(e)
	}
	if !sawAddr {
		t.Errorf("no AddressRemoved when d0 was deleted (saw %v)", skipped)
	}

	// A second watch ends with its context, the first with Close.
	cctx, cancel := context.WithCancel(ctx)
	ch2, err := m.Watch(cctx, vip.WatchConfig{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ch2, "existing LinkAdded eth0", isLink(vip.LinkAdded, "eth0"))
	cancel()
	waitClosed(t, ch2)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch)
	if _, err := m.Watch(ctx, vip.WatchConfig{}); err != vip.ErrClosed {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
}

// TestIntegrationWatchOverrun stalls the reader while the links change
// hundreds of times through a small socket buffer, so the kernel's queue
// overruns (ENOBUFS); the watcher must subscribe again, read the state
// back and report the change it missed.
func TestIntegrationWatchOverrun(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	a.Run(t, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
	a.Run(t, "ip", "link", "set", "d0p", "up")
	a.Run(t, "ip", "link", "set", "d0", "up")
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	ch, err := m.Watch(ctx, vip.WatchConfig{Buffer: 1, ReceiveBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	// Two events (d1, d2 added) fill the channel and block the watcher;
	// nothing reads.
	a.Run(t, "ip", "link", "add", "d1", "type", "veth", "peer", "name", "d2")
	var batch strings.Builder
	for i := range 400 {
		fmt.Fprintf(&batch, "link set dev d0 mtu %d\n", 1000+i)
	}
	batch.WriteString("link set dev d0 down\n")
	cmd := a.Command(ctx, "ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v\n%s", err, out)
	}

	var evs []vip.Event
	got, skipped := nextEvent(t, ch, "Resynced", func(e vip.Event) bool { return e.Kind == vip.Resynced })
	evs = append(skipped, got)
	if st := m.Stats(); st.WatchResyncs == 0 {
		t.Errorf("WatchResyncs = 0 after %v", evs)
	}
	down := false
	for _, e := range evs {
		down = down || isLink(vip.LinkDown, "d0")(e)
	}
	if !down {
		t.Errorf("LinkDown d0 not reported across the overrun: %v", evs)
	}
	// The stream still works after the resync.
	a.Run(t, "ip", "link", "set", "d0", "up")
	nextEvent(t, ch, "LinkUp d0 after the resync", isLink(vip.LinkUp, "d0"))
	m.Close()
	waitClosed(t, ch)
}
