package viptest_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vip/viptest"
)

var cmpNetip = cmp.Options{
	cmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
	cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
}

func TestFakeApply(t *testing.T) {
	ctx := context.Background()
	f := viptest.New()
	v4 := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	v6 := vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"}
	op := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.200/24"), Interface: "eth0"}
	r := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")}
	u := vip.Rule{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100}
	f.ExternalAdd(vip.Set{Addresses: []vip.Address{op}})

	steps := []struct {
		name   string
		before func()
		set    vip.Set
		want   vip.Changes
		owned  vip.Set
	}{
		{
			name: "add",
			set:  vip.Set{Addresses: []vip.Address{v4, v6, op}, Routes: []vip.Route{r}, Rules: []vip.Rule{u}},
			want: vip.Changes{
				Ops: []vip.Op{
					{Kind: vip.OpAddAddress, Address: v4},
					{Kind: vip.OpAddAddress, Address: v6},
					{Kind: vip.OpAddRoute, Route: r},
					{Kind: vip.OpAddRule, Rule: u},
				},
				Present: []vip.Op{{Kind: vip.OpAddAddress, Address: op}},
			},
			owned: vip.Set{Addresses: []vip.Address{v4, v6}, Routes: []vip.Route{r}, Rules: []vip.Rule{u}},
		},
		{
			name:  "idempotent",
			set:   vip.Set{Addresses: []vip.Address{v4, v6, op}, Routes: []vip.Route{r}, Rules: []vip.Rule{u}},
			want:  vip.Changes{Present: []vip.Op{{Kind: vip.OpAddAddress, Address: op}}},
			owned: vip.Set{Addresses: []vip.Address{v4, v6}, Routes: []vip.Route{r}, Rules: []vip.Rule{u}},
		},
		{
			name:   "repair after an outside deletion",
			before: func() { f.ExternalRemove(vip.Set{Addresses: []vip.Address{v6}}) },
			set:    vip.Set{Addresses: []vip.Address{v4, v6}, Routes: []vip.Route{r}, Rules: []vip.Rule{u}},
			want:   vip.Changes{Ops: []vip.Op{{Kind: vip.OpAddAddress, Address: v6}}},
			owned:  vip.Set{Addresses: []vip.Address{v4, v6}, Routes: []vip.Route{r}, Rules: []vip.Rule{u}},
		},
		{
			name: "remove",
			set:  vip.Set{Addresses: []vip.Address{v4}},
			want: vip.Changes{Ops: []vip.Op{
				{Kind: vip.OpRemoveRule, Rule: u},
				{Kind: vip.OpRemoveRoute, Route: r},
				{Kind: vip.OpRemoveAddress, Address: v6},
			}},
			owned: vip.Set{Addresses: []vip.Address{v4}},
		},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got, err := f.Apply(ctx, s.set)
		if err != nil {
			t.Fatalf("%s: Apply: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, got, cmpNetip); diff != "" {
			t.Errorf("%s: Changes (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.owned, f.OwnedSet(), cmpNetip); diff != "" {
			t.Errorf("%s: OwnedSet (-want +got):\n%s", s.name, diff)
		}
	}
	na := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.150/24"), Interface: "eth0", NoAccept: true}
	if err := f.Add(ctx, na); err != nil {
		t.Fatal(err)
	}
	if got := f.Filtered(); !cmp.Equal(got, []netip.Addr{na.Prefix.Addr()}, cmpNetip) {
		t.Errorf("Filtered = %v, want [%v]", got, na.Prefix.Addr())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.Filtered(); len(got) != 0 {
		t.Errorf("Filtered after Close = %v", got)
	}
	// Only the operator's address is left on the host.
	if diff := cmp.Diff(vip.Set{Addresses: []vip.Address{op}}, f.Host(), cmpNetip); diff != "" {
		t.Errorf("Host after Close (-want +got):\n%s", diff)
	}
	if _, err := f.Apply(ctx, vip.Set{}); !errors.Is(err, vip.ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
	want := vip.Stats{AddrsAdded: 4, AddrsRemoved: 3, AddrsPreexisted: 2, RoutesAdded: 1, RoutesRemoved: 1, RulesAdded: 1, RulesRemoved: 1}
	if diff := cmp.Diff(want, f.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestFakeCallsAnnounceVMAC(t *testing.T) {
	ctx := context.Background()
	f := viptest.New()
	vm := vip.VMAC{Name: "vrrp.51", Parent: "eth0", VRID: 51}
	a := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/32"), Interface: "vrrp.51"}
	addrs := []netip.Addr{a.Prefix.Addr(), netip.MustParseAddr("2001:db8::100")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.CreateVMAC(ctx, vm))
	must(f.Add(ctx, a))
	must(f.Announce(ctx, "vrrp.51", addrs))
	if got := f.Announcing("vrrp.51"); !cmp.Equal(got, addrs, cmpNetip) {
		t.Errorf("Announcing = %v, want %v", got, addrs)
	}
	must(f.AnnounceOnce(ctx, "vrrp.51", addrs[:1], 2))
	f.StopAnnounce("vrrp.51")
	if got := f.Announcing("vrrp.51"); got != nil {
		t.Errorf("Announcing after StopAnnounce = %v", got)
	}
	must(f.DeleteVMAC(ctx, "vrrp.51"))
	if got := f.Owned(); len(got) != 0 {
		t.Errorf("Owned after DeleteVMAC = %v: addresses vanish with their VMAC", got)
	}
	if got := f.VMACs(); len(got) != 0 {
		t.Errorf("VMACs = %v", got)
	}
	wantCalls := []string{"CreateVMAC", "Add", "Announce", "AnnounceOnce", "StopAnnounce", "DeleteVMAC"}
	if diff := cmp.Diff(wantCalls, f.Methods()); diff != "" {
		t.Errorf("Methods (-want +got):\n%s", diff)
	}
	if got, want := f.Calls()[2].String(), "Announce vrrp.51 [192.0.2.100 2001:db8::100]"; got != want {
		t.Errorf("Calls()[2] = %q, want %q", got, want)
	}
	// 5 rounds × (request + reply) + 2 rounds × 2 for the IPv4 address; 5 NAs.
	if st := f.Stats(); st.GARPsSent != 14 || st.NAsSent != 5 || st.VMACsCreated != 1 || st.VMACsDeleted != 1 {
		t.Errorf("Stats = %+v", st)
	}

	boom := errors.New("boom")
	f.FailOn("AddRoute", boom)
	r := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24")}
	if err := f.AddRoute(ctx, r); !errors.Is(err, boom) {
		t.Errorf("AddRoute with FailOn = %v, want boom", err)
	}
	if len(f.OwnedSet().Routes) != 0 {
		t.Error("a failed AddRoute changed the model")
	}
	f.FailOn("AddRoute", nil)
	must(f.AddRoute(ctx, r))
	if err := f.AddRule(ctx, vip.Rule{}); err == nil {
		t.Error("AddRule without a table succeeded")
	}
	f.ResetCalls()
	must(f.RemoveAll(ctx))
	if diff := cmp.Diff(vip.Set{}, f.Host(), cmpNetip); diff != "" {
		t.Errorf("Host after RemoveAll (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"RemoveAll"}, f.Methods()); diff != "" {
		t.Errorf("Methods after ResetCalls (-want +got):\n%s", diff)
	}
}

func TestFakeWatch(t *testing.T) {
	ctx := context.Background()
	f := viptest.New()
	f.SetLink("eth0", true)
	ch, err := f.Watch(ctx, vip.WatchConfig{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	a := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	r := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")}
	if _, err := f.Apply(ctx, vip.Set{Addresses: []vip.Address{a}, Routes: []vip.Route{r}}); err != nil {
		t.Fatal(err)
	}
	f.SetLink("eth0", false)
	f.SetLink("eth0", false) // no change, no event
	f.ExternalRemove(vip.Set{Routes: []vip.Route{r}})
	f.SetLink("eth0", true)
	f.DeleteLink("eth0")
	f.SetLink("eth0", false)
	f.Emit(vip.Event{Kind: vip.Resynced})
	want := []vip.Event{
		{Kind: vip.LinkAdded, Interface: "eth0", Index: 1, Up: true},
		{Kind: vip.LinkDown, Interface: "eth0", Index: 1},
		{Kind: vip.RouteRemoved, Route: r},
		{Kind: vip.LinkUp, Interface: "eth0", Index: 1, Up: true},
		{Kind: vip.LinkDeleted, Interface: "eth0", Index: 1},
		{Kind: vip.AddressRemoved, Interface: "eth0", Index: 1, Address: a},
		{Kind: vip.LinkAdded, Interface: "eth0", Index: 2},
		{Kind: vip.Resynced},
	}
	var got []vip.Event
	for range want {
		got = append(got, <-ch)
	}
	if diff := cmp.Diff(want, got, cmpNetip); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// A watch ends with its context; Close ends the others, also one whose
	// reader stopped reading with Emit waiting on it.
	cctx, cancel := context.WithCancel(ctx)
	ch2, err := f.Watch(cctx, vip.WatchConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range ch2 {
	}
	full, err := f.Watch(ctx, vip.WatchConfig{Buffer: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.Emit(vip.Event{Kind: vip.Resynced}) // fills full (and ch)
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		f.Emit(vip.Event{Kind: vip.Resynced}) // waits on full
	}()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	<-emitted
	for range full {
	}
	for range ch {
	}
	if _, err := f.Watch(ctx, vip.WatchConfig{}); !errors.Is(err, vip.ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
}
