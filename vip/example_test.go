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
