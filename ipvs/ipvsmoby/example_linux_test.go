package ipvsmoby_test

import (
	"context"
	"fmt"
	"net/netip"

	moby "github.com/moby/ipvs"

	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/ipvsmoby"
)

// A program that already holds a moby/ipvs handle reconciles through it
// with an ipvs.Manager (needs CAP_NET_ADMIN and ip_vs; no output, so it
// only compiles as a test).
func ExampleNew() {
	ctx := context.Background()
	h, err := moby.New("")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	k, err := ipvsmoby.New(ctx, h)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer k.Close()
	m, err := ipvs.New(ipvs.Config{}, k)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close() // removes what m added
	_, err = m.Apply(ctx, ipvs.State{Services: []ipvs.Service{{
		Key:          ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80")),
		Scheduler:    ipvs.WRR,
		Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 1}},
	}}})
	fmt.Println(err)
}
