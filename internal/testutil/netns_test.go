package testutil_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// hostVeths lists the veth interfaces of the host namespace.
func hostVeths(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "-o", "link", "show", "type", "veth").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v: %s", err, out)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.TrimSuffix(f[1], ":"))
		}
	}
	return names
}

func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

// TestIntegrationPairPing pings across the veth pair over IPv4, IPv6 and
// IPv6 link-local, then checks that the namespaces and links are gone.
func TestIntegrationPairPing(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "ping")
	before := hostVeths(t)
	var names []string
	var sleeper *exec.Cmd
	t.Run("pair", func(t *testing.T) {
		a, b := testutil.NewPair(t)
		names = []string{a.Name, b.Name}
		if !strings.HasPrefix(a.Name, "kgo-") || a.Name == b.Name {
			t.Errorf("namespace names %q, %q", a.Name, b.Name)
		}
		a.Run(t, "ping", "-c", "1", "-W", "5", testutil.PairB4)
		a.Run(t, "ping", "-6", "-c", "1", "-W", "5", testutil.PairB6)
		b.Run(t, "ping", "-c", "1", "-W", "5", testutil.PairA4)
		ll := linkLocal(t, b, "eth0")
		a.Run(t, "ping", "-6", "-c", "1", "-W", "5", ll+"%eth0")
		// A process left running must be killed by cleanup.
		sleeper = a.Command(context.Background(), "sleep", "600")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
	})
	if err := sleeper.Wait(); err == nil {
		t.Errorf("sleep in the namespace exited cleanly; want killed by cleanup")
	}
	list := netnsList(t)
	for _, n := range names {
		if strings.Contains(list, n) {
			t.Errorf("namespace %s still exists after cleanup:\n%s", n, list)
		}
	}
	for _, v := range hostVeths(t) {
		if !slices.Contains(before, v) {
			t.Errorf("veth %s appeared in the host namespace", v)
		}
	}
}

var llRE = regexp.MustCompile(`inet6 (fe80::[0-9a-f:]+)/64`)

func linkLocal(t *testing.T, ns *testutil.NetNS, iface string) string {
	t.Helper()
	m := llRE.FindStringSubmatch(ns.Run(t, "ip", "-6", "addr", "show", "dev", iface))
	if m == nil {
		t.Fatalf("no link-local address on %s in %s", iface, ns.Name)
	}
	return m[1]
}

// TestIntegrationLinkLocalNotTentative checks that the addresses are usable
// at once: right after NewPair both ends are up (operstate UP, so the kernel
// no longer drops what they send) with a link-local and a global address,
// none of them tentative.
func TestIntegrationLinkLocalNotTentative(t *testing.T) {
	a, b := testutil.NewPair(t)
	for _, end := range []struct {
		ns     *testutil.NetNS
		global string
	}{{a, testutil.PairA6}, {b, testutil.PairB6}} {
		out := end.ns.Run(t, "ip", "-6", "addr", "show", "dev", "eth0")
		if strings.Contains(out, "tentative") {
			t.Errorf("tentative address in %s right after NewPair:\n%s", end.ns.Name, out)
		}
		if !strings.Contains(out, "fe80::") || !strings.Contains(out, end.global) {
			t.Errorf("missing link-local or global address in %s:\n%s", end.ns.Name, out)
		}
		if !strings.Contains(out, "state UP") {
			t.Errorf("eth0 in %s not operationally up right after NewPair:\n%s", end.ns.Name, out)
		}
	}
}

// TestIntegrationDo checks that Do runs in the namespace and that the calling
// thread's namespace never changes, also when fn fails or panics.
func TestIntegrationDo(t *testing.T) {
	ns := testutil.NewNetNS(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := netns.GetFromPath(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = ns.Do(func() error {
				cur, err := netns.Get()
				if err != nil {
					return err
				}
				defer cur.Close()
				if !cur.Equal(target) {
					return errors.New("not in the target namespace")
				}
				ifs, err := net.Interfaces()
				if err != nil {
					return err
				}
				if len(ifs) != 1 || ifs[0].Name != "lo" {
					return errors.New("interfaces in a fresh namespace: " + strconv.Itoa(len(ifs)) + ", want only lo")
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Do #%d: %v", i, err)
		}
	}
	sentinel := errors.New("sentinel")
	if err := ns.Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do returned %v, want the function's error", err)
	}
	if err := ns.Do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Do with a panicking function returned %v, want the panic as an error", err)
	}
	if err := ns.Do(func() error { runtime.Goexit(); return nil }); err == nil {
		t.Errorf("Do with runtime.Goexit returned nil, want an error")
	}
	now, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer now.Close()
	if !now.Equal(orig) {
		t.Errorf("calling thread's namespace changed")
	}
}

// TestIntegrationHandle checks that the handle is bound to the namespace.
func TestIntegrationHandle(t *testing.T) {
	a, _ := testutil.NewPair(t)
	h := a.Handle(t)
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"eth0", "lo"}) {
		t.Errorf("links in the pair namespace = %v, want [eth0 lo]", names)
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := h.AddrList(eth0, syscall.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].IP.String() != testutil.PairA4 {
		t.Errorf("eth0 IPv4 addresses = %v, want %s", addrs, testutil.PairA4)
	}
}

// TestIntegrationLink adds a second veth pair between two namespaces.
func TestIntegrationLink(t *testing.T) {
	a, b := testutil.NewPair(t)
	testutil.Link(t, a, "ext0", b, "ext1")
	a.Run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "ext0")
	b.Run(t, "ip", "addr", "add", "198.51.100.2/24", "dev", "ext1")
	a.Run(t, "ping", "-c", "1", "-W", "5", "198.51.100.2")
}

var receivedRE = regexp.MustCompile(`(\d+) received`)

// ping sends count echo requests 10 ms apart and returns the replies seen.
func ping(t *testing.T, ns *testutil.NetNS, count int, dst string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Exit status 1 means some replies were missing: expected here.
	out, _ := ns.Command(ctx, "ping", "-q", "-n", "-c", strconv.Itoa(count), "-i", "0.01", "-W", "2", dst).CombinedOutput()
	m := receivedRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("ping output without a count:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestIntegrationLoss checks that 50 % ingress loss drops a measurable share
// of echo requests, and that the remover restores the link. Bounds are
// loose: the drop is random.
func TestIntegrationLoss(t *testing.T) {
	a, b := testutil.NewPair(t)
	remove := a.Loss(t, "eth0", 50, 0)
	if got := ping(t, b, 50, testutil.PairA4); got < 5 || got > 45 {
		t.Errorf("50 %% ingress loss: %d of 50 replies, want 5..45", got)
	}
	remove()
	remove() // idempotent
	if got := ping(t, b, 10, testutil.PairA4); got != 10 {
		t.Errorf("after removing the loss: %d of 10 replies", got)
	}
	remove = a.Loss(t, "eth0", 0, 50)
	if got := ping(t, b, 50, testutil.PairA4); got < 5 || got > 45 {
		t.Errorf("50 %% egress loss: %d of 50 replies, want 5..45", got)
	}
	remove()
	if out := a.Run(t, "nft", "list", "ruleset"); strings.Contains(out, "kgo_") {
		t.Errorf("nft tables left after remove:\n%s", out)
	}
}

// TestIntegrationPartition checks that a partition blocks both directions
// until removed, over IPv4 and IPv6.
func TestIntegrationPartition(t *testing.T) {
	a, b := testutil.NewPair(t)
	// Resolve neighbours first: an unresolved one is retried only once a
	// second, which would delay the first replies after healing.
	for _, dst := range []string{testutil.PairB4, testutil.PairB6} {
		a.Run(t, "ping", "-c", "1", "-W", "5", dst)
	}
	heal := b.Partition(t, "eth0")
	for _, dst := range []string{testutil.PairB4, testutil.PairB6} {
		if got := ping(t, a, 3, dst); got != 0 {
			t.Errorf("partitioned: %d replies from %s, want 0", got, dst)
		}
	}
	heal()
	for _, dst := range []string{testutil.PairB4, testutil.PairB6} {
		if got := ping(t, a, 3, dst); got != 3 {
			t.Errorf("healed: %d of 3 replies from %s", got, dst)
		}
	}
}
