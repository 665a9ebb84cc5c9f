package bfd_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/bfd/bfdtest"
)

// Decoding and encoding a control packet, then signing it with keyed SHA1.
func ExampleControlPacket() {
	wire := []byte{
		0x20, 0xc0, 0x03, 0x18, // version 1, Up, detect mult 3, length 24
		0x00, 0x00, 0x00, 0x01, // my discriminator
		0x00, 0x00, 0x00, 0x02, // your discriminator
		0x00, 0x04, 0x93, 0xe0, // desired min tx 300 ms
		0x00, 0x04, 0x93, 0xe0, // required min rx 300 ms
		0x00, 0x00, 0x00, 0x00, // required min echo rx 0
	}
	var p bfd.ControlPacket
	if err := p.UnmarshalBinary(wire); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.State, p.DetectMult, p.MyDiscriminator, p.YourDiscriminator, p.DesiredMinTxInterval)

	p.Auth = &bfd.KeyedSHA1{AuthKeyID: 1, Sequence: 7}
	b, err := p.AppendBinary(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	key := []byte("secret")
	if err := bfd.Sign(b, key); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b), bfd.Verify(b, key) == nil, bfd.Verify(b, []byte("wrong")) != nil)
	// Output:
	// Up 3 1 2 300ms
	// 52 true true
}

// Driving the pure session state machine by hand: the caller passes the
// time, performs the actions and feeds packets back.
func ExampleSession() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := bfd.NewSession(bfd.Config{LocalDiscriminator: 1, Rand: rand.NewPCG(1, 1)})
	b, _ := bfd.NewSession(bfd.Config{LocalDiscriminator: 2, Rand: rand.NewPCG(2, 2)})
	sessions := []*bfd.Session{a, b}
	now := start
	var inflight [2][]bfd.ControlPacket // packets to deliver to each side
	run := func(i int, ev bfd.Event) {
		for _, act := range sessions[i].Handle(now, ev) {
			switch act.Kind {
			case bfd.ActionSend:
				inflight[1-i] = append(inflight[1-i], act.Packet)
			case bfd.ActionTransition:
				fmt.Printf("%c: %v -> %v (%v)\n", 'A'+i, act.Transition.From, act.Transition.To, act.Transition.Reason)
			}
		}
	}
	run(0, bfd.Event{Kind: bfd.EventTimer})
	run(1, bfd.Event{Kind: bfd.EventTimer})
	for now.Before(start.Add(3 * time.Second)) {
		for i := range sessions {
			pkts := inflight[i]
			inflight[i] = nil
			for _, p := range pkts {
				run(i, bfd.Event{Kind: bfd.EventPacket, Packet: &p, TTL: 255})
			}
		}
		// Jump to the earlier deadline of the two sessions.
		next := a.NextDeadline()
		if d := b.NextDeadline(); d.Before(next) {
			next = d
		}
		now = next
		run(0, bfd.Event{Kind: bfd.EventTimer})
		run(1, bfd.Event{Kind: bfd.EventTimer})
	}
	fmt.Println(a.Status().DetectionTime, a.Status().TxInterval)
	// Output:
	// A: Down -> Init (peer reported Down)
	// B: Down -> Init (peer reported Down)
	// A: Init -> Up (peer reported Init)
	// B: Init -> Up (peer reported Up)
	// 900ms 300ms
}

// Running sessions over UDP (needs permission to bind ports 3784/4784; no
// output, so it only compiles as a test).
func ExampleListenUDP() {
	tr, err := bfd.ListenUDP(bfd.UDPConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := bfd.NewMux(bfd.MuxConfig{OnTransition: func(c bfd.StateChange) {
		fmt.Printf("%v: %v -> %v (%v)\n", c.Peer, c.From, c.To, c.Diag)
	}}, tr)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		_, _ = m.Add(ctx, bfd.SessionConfig{
			Peer:  netip.MustParseAddr("192.0.2.2"),
			Local: netip.MustParseAddr("192.0.2.1"),
			Config: bfd.Config{DesiredMinTxInterval: 50 * time.Millisecond,
				RequiredMinRxInterval: 50 * time.Millisecond, DetectMultiplier: 3},
		})
	}()
	_ = m.Run(ctx) // returns when ctx ends, after AdminDown to every peer
}

// Two Muxes over the in-memory network of package bfdtest bring a session
// up; the transitions arrive on MuxConfig.Events, so the program can act on
// them (here: print, then take the peer administratively down) without
// blocking the loop.
func ExampleNewMux() {
	network := bfdtest.NewNetwork()
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait() // Run returns after cancel, having closed its transport
	defer cancel()
	start := func(local netip.Addr, events chan<- bfd.StateChange) *bfd.Mux {
		tr, err := network.Listen(local)
		if err != nil {
			panic(err)
		}
		m, err := bfd.NewMux(bfd.MuxConfig{Events: events}, tr)
		if err != nil {
			panic(err)
		}
		wg.Go(func() { m.Run(ctx) })
		return m
	}
	events := make(chan bfd.StateChange, 16)
	ma := start(a, events)
	mb := start(b, nil)
	cfg := bfd.Config{DesiredMinTxInterval: 10 * time.Millisecond, RequiredMinRxInterval: 10 * time.Millisecond, DetectMultiplier: 3}
	if _, err := ma.Add(ctx, bfd.SessionConfig{Peer: b, Local: a, Config: cfg}); err != nil {
		panic(err)
	}
	peer, err := mb.Add(ctx, bfd.SessionConfig{Peer: a, Local: b, Config: cfg})
	if err != nil {
		panic(err)
	}
	for c := range events {
		switch c.To {
		case bfd.StateUp:
			// Whether A passes through Init depends on which side's
			// packet arrives first; Up comes either way.
			fmt.Printf("%v: up\n", c.Peer)
			mb.Inject(ctx, peer, bfd.Event{Kind: bfd.EventAdminDown, Diag: bfd.DiagAdminDown})
		case bfd.StateDown:
			fmt.Printf("%v: %v -> %v (%v)\n", c.Peer, c.From, c.To, c.Diag)
			return
		}
	}
	// Output:
	// 192.0.2.2: up
	// 192.0.2.2: Up -> Down (neighbor signaled session down)
}
