package ipvs_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/ipvstest"
)

// Plan computes the minimal operations between two states: here one new
// real server and one weight change, with the unchanged server untouched.
func ExamplePlan() {
	web := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	current := ipvs.State{Services: []ipvs.Service{{Key: web, Scheduler: ipvs.WRR, Destinations: []ipvs.Destination{
		{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 1},
		{Addr: netip.MustParseAddrPort("198.51.100.2:80"), Weight: 1},
	}}}}
	desired := current.Clone()
	desired.Services[0].Destinations[1].Weight = 5
	desired.Services[0].Destinations = append(desired.Services[0].Destinations,
		ipvs.Destination{Addr: netip.MustParseAddrPort("198.51.100.3:80"), Weight: 1, Forward: ipvs.Route})
	for _, op := range ipvs.Plan(current, desired, ipvs.Owned{}, ipvs.PlanOptions{}) {
		fmt.Println(op)
	}
	// Output:
	// -e -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 5
	// -a -t 192.0.2.10:80 -r 198.51.100.3:80 -g -w 1
}

// A Manager reconciles a kernel (here the in-memory model) and removes only
// what it added.
func ExampleManager_Apply() {
	ctx := context.Background()
	k := ipvstest.NewKernel()
	m, err := ipvs.New(ipvs.Config{}, k)
	if err != nil {
		fmt.Println(err)
		return
	}
	dns := ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::53]:53"))
	desired := ipvs.State{Services: []ipvs.Service{{
		Key: dns, Scheduler: ipvs.SH, Flags: ipvs.SHPort | ipvs.OnePacket,
		Persistence: ipvs.Persistence{Timeout: 60 * time.Second},
		Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Weight: 1},
			{Addr: netip.MustParseAddrPort("[2001:db8::2]:53"), Weight: 1, Forward: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080},
		},
	}}}
	ch, _ := m.Apply(ctx, desired)
	for _, op := range ch.Ops {
		fmt.Println(op)
	}
	ch, _ = m.Apply(ctx, desired)
	fmt.Println("second apply:", len(ch.Ops), "operations")
	_ = m.Close()
	st, _ := k.State(ctx)
	fmt.Println("after Close:", len(st.Services), "services")
	// Output:
	// -A -u [2001:db8::53]:53 -s sh -b sh-port -o -p 60
	// -a -u [2001:db8::53]:53 -r [2001:db8::1]:53 -m -w 1
	// -a -u [2001:db8::53]:53 -r [2001:db8::2]:53 -i --tun-type gue --tun-port 6080 -w 1
	// second apply: 0 operations
	// after Close: 0 services
}

// A Policy turns health-check results into the desired service: failed
// servers leave (or stay at weight 0 with InhibitOnFailure), and below
// quorum the sorry server takes over.
func ExamplePolicy() {
	a := netip.MustParseAddrPort("198.51.100.1:80")
	b := netip.MustParseAddrPort("198.51.100.2:80")
	p, err := ipvs.NewPolicy(ipvs.VirtualServer{
		Service: ipvs.Service{Key: ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80")), Scheduler: ipvs.WLC},
		RealServers: []ipvs.RealServer{
			{Destination: ipvs.Destination{Addr: a, Weight: 2}},
			{Destination: ipvs.Destination{Addr: b, Weight: 2}, InhibitOnFailure: true},
		},
		Quorum:       3,
		SorryServer:  &ipvs.Destination{Addr: netip.MustParseAddrPort("203.0.113.1:80"), Weight: 1},
		OnQuorumDown: func() { fmt.Println("hook: quorum lost") },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	show := func() {
		for _, d := range p.Service().Destinations {
			fmt.Printf("  %v weight %d\n", d.Addr, d.Weight)
		}
	}
	fmt.Println("all healthy:")
	show()
	for _, e := range p.Set(b, "HTTP_GET", false) {
		fmt.Println("event:", e)
	}
	show()
	// Output:
	// all healthy:
	//   198.51.100.1:80 weight 2
	//   198.51.100.2:80 weight 2
	// hook: quorum lost
	// event: real-server-down 198.51.100.2:80 (healthy weight 2)
	// event: quorum-down (healthy weight 2)
	//   198.51.100.2:80 weight 0
	//   203.0.113.1:80 weight 1
}

// Dial opens the kernel's IPVS table (Linux, CAP_NET_ADMIN, ip_vs loaded).
func ExampleDial() {
	ctx := context.Background()
	m, err := ipvs.Dial(ctx, ipvs.Config{Removal: ipvs.Drain})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close() // removes what m added
	if err := m.StartSyncDaemon(ctx, ipvs.SyncDaemon{Role: ipvs.Master, Interface: "eth0", SyncID: 51}); err != nil {
		fmt.Println(err)
	}
}
