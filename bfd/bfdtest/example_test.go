package bfdtest_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/bfd/bfdtest"
)

// Two muxes on an in-memory network: sessions come Up, a partition brings
// them Down with diagnostic 1. Run in a testing/synctest bubble, the same
// code finishes instantly with virtual time; here it uses the real clock.
func ExampleNetwork() {
	n := bfdtest.NewNetwork()
	a4, b4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	changes := make(chan bfd.StateChange, 16)
	start := func(addr netip.Addr, report bool) *bfd.Mux {
		tr, _ := n.Listen(addr)
		cfg := bfd.MuxConfig{}
		if report {
			cfg.OnTransition = func(c bfd.StateChange) {
				select { // never block the loop
				case changes <- c:
				default:
				}
			}
		}
		m, _ := bfd.NewMux(cfg, tr)
		wg.Go(func() { _ = m.Run(ctx) })
		return m
	}
	ma, mb := start(a4, true), start(b4, false)
	fast := bfd.Config{DesiredMinTxInterval: 10 * time.Millisecond, RequiredMinRxInterval: 10 * time.Millisecond}
	_, _ = ma.Add(ctx, bfd.SessionConfig{Peer: b4, Config: fast})
	_, _ = mb.Add(ctx, bfd.SessionConfig{Peer: a4, Config: fast})
	for c := range changes {
		if c.To == bfd.StateUp {
			fmt.Println("up with", c.Peer)
			break
		}
	}
	heal := n.Partition(a4, b4)
	for c := range changes {
		if c.To == bfd.StateDown {
			fmt.Println("down:", c.Diag)
			break
		}
	}
	heal()
	cancel()
	wg.Wait()
	// Output:
	// up with 192.0.2.2
	// down: control detection time expired
}
