package vip_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
)

// TestIntegrationErrorConventions: errors of a live Manager carry the
// prefix once, also when they wrap the kernel's, and methods after Close
// return net.ErrClosed.
func TestIntegrationErrorConventions(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	m := newManager(t, a, vip.AnnouncePolicy{})
	ctx := context.Background()
	checkPrefix(t, m.Add(ctx, vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "nosuch0"}))
	checkPrefix(t, m.AddRoute(ctx, vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("198.51.100.1")}))
	_, err := m.Apply(ctx, vip.Set{Rules: []vip.Rule{{}}})
	checkPrefix(t, err)
	_, err = m.Watch(ctx, vip.WatchConfig{Buffer: -1})
	checkPrefix(t, err)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Add":      m.Add(ctx, vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}),
		"AddRoute": m.AddRoute(ctx, vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24")}),
		"Announce": m.Announce(ctx, "eth0", nil),
	} {
		if !errors.Is(err, vip.ErrClosed) {
			t.Errorf("%s after Close = %v, want net.ErrClosed", name, err)
		}
	}
	// Nothing is owned any more: the removing methods have nothing to do.
	for name, err := range map[string]error{
		"Remove":      m.Remove(ctx, vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}),
		"RemoveRoute": m.RemoveRoute(ctx, vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24")}),
		"RemoveRule":  m.RemoveRule(ctx, vip.Rule{Table: 100}),
		"DeleteVMAC":  m.DeleteVMAC(ctx, "vrrp.1"),
		"RemoveAll":   m.RemoveAll(ctx),
		"Close":       m.Close(),
	} {
		if err != nil {
			t.Errorf("%s after Close = %v, want nil", name, err)
		}
	}
	if _, err := m.Apply(ctx, vip.Set{}); !errors.Is(err, vip.ErrClosed) {
		t.Errorf("Apply after Close = %v, want net.ErrClosed", err)
	}
}
