package vip_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/nux-root/keepalived-go/vip"
)

// Add a virtual address on becoming master, announce it, and remove exactly
// what was added on Close. Needs CAP_NET_ADMIN and CAP_NET_RAW.
func ExampleManager() {
	m, err := vip.New(vip.Config{NetNS: "/run/netns/example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close() // removes the address again
	ctx := context.Background()
	a := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	if err := m.Add(ctx, a); err != nil {
		fmt.Println(err)
		return
	}
	if err := m.Announce(ctx, "eth0", []netip.Addr{a.Prefix.Addr()}); err != nil {
		fmt.Println(err)
	}
}

// Apply the desired addresses, routes and rules of an instance on every
// change (becoming master, a reload); Apply adds and removes only the
// difference and never removes what it did not add.
func ExampleManager_Apply() {
	m, err := vip.New(vip.Config{NetNS: "/run/netns/example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ch, err := m.Apply(context.Background(), vip.Set{
		Addresses: []vip.Address{{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}},
		Routes:    []vip.Route{{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, op := range ch.Ops {
		fmt.Println(op)
	}
}

// Plan is pure: it shows what Apply would do, given what is owned.
func ExamplePlan() {
	owned := vip.Set{Addresses: []vip.Address{{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}}}
	desired := vip.Set{Addresses: []vip.Address{{Prefix: netip.MustParsePrefix("192.0.2.101/24"), Interface: "eth0"}}}
	for _, op := range vip.Plan(owned, desired) {
		fmt.Println(op)
	}
	// Output:
	// ip addr del 192.0.2.100/24 dev eth0
	// ip addr add 192.0.2.101/24 dev eth0
}

// Follow link state and put back owned addresses and routes that someone
// else removed, until ctx ends.
func ExampleManager_Watch() {
	m, err := vip.New(vip.Config{NetNS: "/run/netns/example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ctx := context.Background()
	desired := vip.Set{Addresses: []vip.Address{{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}}}
	events, err := m.Watch(ctx, vip.WatchConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for e := range events {
		switch e.Kind {
		case vip.LinkUp, vip.LinkAdded, vip.AddressRemoved, vip.RouteRemoved, vip.Resynced:
			if _, err := m.Apply(ctx, desired); err != nil {
				fmt.Println(err)
			}
		case vip.LinkDown, vip.LinkDeleted:
			fmt.Println(e) // e.g. track the interface: lower the priority
		}
	}
}
