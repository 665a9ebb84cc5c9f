package viptest_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vip/viptest"
)

// Test code that takes a vip.Controller against the Fake: it keeps the
// Manager's ownership rules, so an operator's address survives.
func ExampleFake() {
	f := viptest.New()
	operators := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.200/24"), Interface: "eth0"}
	f.ExternalAdd(vip.Set{Addresses: []vip.Address{operators}})

	var c vip.Controller = f // what the code under test is given
	ch, _ := c.Apply(context.Background(), vip.Set{Addresses: []vip.Address{
		{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"},
		operators,
	}})
	fmt.Println("changed:", ch.Ops)
	fmt.Println("already there:", ch.Present)
	_ = c.Close()
	fmt.Println("left on the host:", f.Host().Addresses)
	// Output:
	// changed: [ip addr add 192.0.2.100/24 dev eth0]
	// already there: [ip addr add 192.0.2.200/24 dev eth0]
	// left on the host: [192.0.2.200/24 dev eth0]
}
