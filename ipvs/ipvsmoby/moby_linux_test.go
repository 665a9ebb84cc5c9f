package ipvsmoby_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	moby "github.com/moby/ipvs"

	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/internal/conformance"
	"github.com/nux-root/keepalived-go/ipvs/ipvsmoby"
)

// The moby/ipvs adapter passes the same conformance cases as Netlink,
// except the ones moby cannot express.
func TestKernelMoby(t *testing.T) {
	openKernel(t)
	ctx := context.Background()
	h, err := moby.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	k, err := ipvsmoby.New(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, c := range conformance.Cases() {
		switch c.Name {
		case "mixed family tunnel", "mixed family without tunnel", "gue without port":
			continue // ErrNotSupported with moby
		}
		t.Run(c.Name, func(t *testing.T) { c.Run(t, ctx, k) })
	}
	m, _ := ipvs.New(ipvs.Config{}, k)
	desired := ipvs.State{Services: []ipvs.Service{
		{Key: ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:443")), Scheduler: ipvs.SH, Flags: ipvs.SHPort,
			Persistence: ipvs.Persistence{Timeout: 300 * time.Second, Netmask: 24},
			Destinations: []ipvs.Destination{
				{Addr: netip.MustParseAddrPort("198.51.100.1:443"), Weight: 1, UpperThreshold: 9, LowerThreshold: 1},
				{Addr: netip.MustParseAddrPort("198.51.100.2:443"), Weight: 2, Forward: ipvs.Route},
				{Addr: netip.MustParseAddrPort("198.51.100.3:443"), Weight: 3, Forward: ipvs.Tunnel},
			}},
		{Key: ipvs.TCPService(netip.MustParseAddrPort("[2001:db8::10]:443")), Scheduler: ipvs.LC,
			Persistence:  ipvs.Persistence{Timeout: 60 * time.Second, Netmask: 64},
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("[2001:db8::1]:443"), Weight: 1}}},
		{Key: ipvs.FWMarkService(ipvs.IPv4, 42), Scheduler: ipvs.MH,
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:0"), Weight: 1, Forward: ipvs.Route}}},
	}, Timeouts: &ipvs.Timeouts{TCP: 600 * time.Second}}
	apply(t, m, desired)
	converged(t, k, desired)
	if ch := apply(t, m, desired); len(ch.Ops) != 0 {
		t.Errorf("no-op reconcile through moby issued %v", ch.Ops)
	}
	wantLines(t, listing(t), "TCP 192.0.2.10:443 sh (sh-port) persistent 300 mask 255.255.255.0",
		"TCP [2001:db8::10]:443 lc persistent 60 mask 64", "FWM 42 mh", "-> 198.51.100.3:443 Tunnel 3 0 0")
	gue := desired.Clone()
	gue.Services[0].Destinations[2].TunnelType = ipvs.GUE
	gue.Services[0].Destinations[2].TunnelPort = 6080
	if _, err := m.Apply(ctx, gue); !errors.Is(err, ipvs.ErrNotSupported) {
		t.Errorf("gue through moby = %v, want ErrNotSupported", err)
	}
	if err := m.StartSyncDaemon(ctx, ipvs.SyncDaemon{Role: ipvs.Backup, Interface: "lo", SyncID: 4}); err != nil {
		t.Errorf("sync daemon through the moby adapter: %v", err)
	} else if err := m.StopSyncDaemon(ctx, ipvs.Backup); err != nil {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
