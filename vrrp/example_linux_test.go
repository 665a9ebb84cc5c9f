package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
)

// Run a VRRPv3 instance on the Linux raw-socket transport. One Conn per
// interface and family serves every VRID on it. Needs CAP_NET_RAW.
func ExampleListen() {
	conn, err := vrrp.Listen(vrrp.ConnConfig{Interface: "eth0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	tr, err := conn.Transport(51)
	if err != nil {
		fmt.Println(err)
		return
	}
	inst, err := vrrp.New(vrrp.Config{
		VRID:           51,
		Priority:       150,
		AdvertInterval: 100 * time.Millisecond,
		Source:         conn.Source(),
		Addrs:          []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		OnTransition: func(t vrrp.Transition) {
			fmt.Println(t.From, "->", t.To, t.Reason)
		},
	}, tr)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = inst.Run(ctx) // sends a priority-0 advert when ctx ends
}
