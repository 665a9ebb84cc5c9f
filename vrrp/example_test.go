package vrrp_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// Decode a VRRPv3 advertisement captured from keepalived, check its
// pseudo-header checksum, and encode one.
func ExamplePacket() {
	b, _ := hex.DecodeString("313396010064d371c0000264")
	src := netip.MustParseAddr("192.0.2.1")

	var p vrrp.Packet
	if err := p.Decode(b, false); err != nil {
		fmt.Println(err)
		return
	}
	mode, ok := vrrp.VerifyChecksum(b, src, vrrp.MulticastGroup4)
	fmt.Printf("v%d vrid %d prio %d interval %v addrs %v checksum %#04x ok=%v (%v)\n",
		p.Version, p.VRID, p.Priority, p.AdvertInterval, p.Addrs, p.Checksum, ok, mode)

	p.Priority = 0 // a goodbye
	out, _ := p.AppendChecksummed(nil, src, vrrp.MulticastGroup4)
	fmt.Println(hex.EncodeToString(out))
	// Output:
	// v3 vrid 51 prio 150 interval 1s addrs [192.0.2.100] checksum 0xd371 ok=true (pseudo-header)
	// 3133000100646972c0000264
}

// Run an Instance over an in-memory network with a fake clock: alone on
// the LAN, it becomes master after Master_Down_Interval and sends a
// priority-0 advertisement when stopped.
func ExampleInstance() {
	clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	lan := vrrptest.NewNetwork()
	src := netip.MustParseAddr("192.0.2.1")
	transitions := make(chan vrrp.Transition, 8)
	inst, err := vrrp.New(vrrp.Config{
		Name:         "VI_1",
		VRID:         51,
		Priority:     150,
		Source:       src,
		Addrs:        []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		Clock:        clk,
		OnTransition: func(t vrrp.Transition) { transitions <- t },
	}, lan.Transport(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- inst.Run(ctx) }()

	show := func(t vrrp.Transition) { fmt.Printf("%v -> %v (%v)\n", t.From, t.To, t.Reason) }
	show(<-transitions)
	clk.BlockUntil(1)            // the master down timer is armed
	clk.Advance(3 * time.Second) // Master_Down_Interval is 3.4140625s
	clk.Advance(time.Second)
	show(<-transitions)
	cancel()
	<-done
	show(<-transitions)
	fmt.Println("adverts sent:", inst.Stats().AdvertsSent)
	// Output:
	// INIT -> BACKUP (startup)
	// BACKUP -> MASTER (master down timer expired)
	// MASTER -> STOP (shutdown)
	// adverts sent: 2
}

// Drive the pure state machine with explicit times: no goroutines, clock or
// sockets. Perform the actions it returns, and call it with EventTimer at
// NextDeadline.
func ExampleMachine() {
	m, err := vrrp.NewMachine(vrrp.Config{
		VRID:     51,
		Priority: 150,
		Source:   netip.MustParseAddr("192.0.2.1"),
		Addrs:    []netip.Addr{netip.MustParseAddr("192.0.2.100")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := now
	perform := func(acts []vrrp.Action) {
		for _, a := range acts {
			switch a.Kind {
			case vrrp.ActionSend:
				fmt.Printf("%v: send %d bytes to %v\n", now.Sub(start), len(a.Payload), a.Dst)
			case vrrp.ActionTransition:
				t := a.Transition
				fmt.Printf("%v: %v -> %v (%v)\n", now.Sub(start), t.From, t.To, t.Reason)
			}
		}
	}
	perform(m.Handle(now, vrrp.Event{Kind: vrrp.EventStart}))
	for range 2 { // the master down timer, then one advertisement
		now = m.NextDeadline()
		perform(m.Handle(now, vrrp.Event{Kind: vrrp.EventTimer}))
	}
	perform(m.Handle(now, vrrp.Event{Kind: vrrp.EventStop}))
	// Output:
	// 0s: INIT -> BACKUP (startup)
	// 3.4140625s: send 12 bytes to 224.0.0.18
	// 3.4140625s: BACKUP -> MASTER (master down timer expired)
	// 4.4140625s: send 12 bytes to 224.0.0.18
	// 4.4140625s: send 12 bytes to 224.0.0.18
	// 4.4140625s: MASTER -> STOP (shutdown)
}
