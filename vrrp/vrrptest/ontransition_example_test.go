package vrrptest_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// TestExampleOnTransition shows how to test your own OnTransition hook (an
// Example function cannot run a testing/synctest bubble, so this example
// is a test): real Instances on an in-memory Network, inside a bubble
// whose clock only moves when every goroutine is blocked, so seconds of
// VRRP time take microseconds and nothing is flaky. Copy it and replace
// holder with your own hook.
func TestExampleOnTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// holder is the code under test: it records who holds the VIP.
		var (
			mu     sync.Mutex
			holder = map[string]bool{}
		)
		hook := func(name string) func(vrrp.Transition) {
			return func(tr vrrp.Transition) {
				mu.Lock()
				holder[name] = tr.To == vrrp.StateMaster
				mu.Unlock()
			}
		}
		holds := func(name string) bool {
			mu.Lock()
			defer mu.Unlock()
			return holder[name]
		}

		lan := vrrptest.NewNetwork()
		start := func(name string, addr netip.Addr, prio uint8) (*vrrptest.Transport, context.CancelFunc) {
			tr := lan.Transport(addr)
			inst, err := vrrp.New(vrrp.Config{Name: name, VRID: 51, Priority: prio, Source: addr,
				AdvertInterval: 100 * time.Millisecond, OnTransition: hook(name)}, tr)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = inst.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			return tr, cancel
		}
		trA, _ := start("a", netip.MustParseAddr("192.0.2.1"), 200)
		start("b", netip.MustParseAddr("192.0.2.2"), 100)

		time.Sleep(time.Second) // fake time: Master_Down_Interval is 0.32s
		synctest.Wait()
		if !holds("a") || holds("b") {
			t.Fatalf("after startup: holder %v, want a only", holder)
		}
		trA.SetDown(true) // a vanishes from the LAN without a goodbye
		time.Sleep(time.Second)
		synctest.Wait()
		if !holds("b") {
			t.Fatalf("after a failed: holder %v, want b", holder)
		}
		trA.SetDown(false) // a comes back and preempts
		time.Sleep(time.Second)
		synctest.Wait()
		if !holds("a") || holds("b") {
			t.Fatalf("after a returned: holder %v, want a only", holder)
		}
	})
}
