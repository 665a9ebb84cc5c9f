package vrrp_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// A Watch reader that does not read never blocks the instance: 200
// transitions happen while nobody reads, then the reader receives every one
// of them, in the order OnTransition saw them, then STOP, then the close.
func TestInstanceWatchSlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := vrrptest.NewNetwork()
		inst, err := vrrp.New(vrrp.Config{VRID: 51, Source: addrA, AdvertInterval: 100 * time.Millisecond,
			Track: []vrrp.TrackedObject{{Name: "eth0"}}, OnTransition: rec.add}, n.Transport(addrA))
		if err != nil {
			t.Fatal(err)
		}
		w := inst.Watch(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- inst.Run(ctx) }()
		synctest.Wait()   // started: INIT -> BACKUP
		const flaps = 100 // each: BACKUP -> FAULT -> BACKUP
		for range flaps {
			inst.SetTracked("eth0", false)
			inst.SetTracked("eth0", true)
		}
		synctest.Wait() // every goroutine is blocked: the loop is idle, not stuck
		if got, want := inst.Stats().Transitions, uint64(1+2*flaps); got != want {
			t.Fatalf("instance made %d transitions with an unread watcher, want %d", got, want)
		}
		time.Sleep(time.Second) // the loop still runs its timers: MASTER after Master_Down_Interval
		synctest.Wait()
		if s := inst.State(); s != vrrp.StateMaster {
			t.Fatalf("state %v, want MASTER", s)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var got []string
		for tr := range w { // closed after Run returned and the queue drained
			got = append(got, tr.From.String()+">"+tr.To.String()+":"+tr.Reason.String())
		}
		want := rec.steps()
		if len(want) != 1+2*flaps+2 || want[len(want)-1] != "MASTER>STOP:shutdown" {
			t.Fatalf("OnTransition saw %d transitions ending %v", len(want), want[len(want)-1])
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Watch transitions (-OnTransition +Watch):\n%s", diff)
		}
	})
}

// Cancelling a watcher's ctx closes its channel and ends its goroutine (the
// synctest bubble would not end otherwise), with transitions still queued;
// a watcher started after Run returned is closed at once; other watchers
// are unaffected.
func TestInstanceWatchCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := vrrptest.NewNetwork()
		inst, err := vrrp.New(vrrp.Config{VRID: 51, Source: addrA, Priority: 255}, n.Transport(addrA))
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithCancel(context.Background())
		w1 := inst.Watch(wctx)
		w2 := inst.Watch(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- inst.Run(ctx) }()
		synctest.Wait() // INIT -> MASTER queued for both
		wcancel()
		synctest.Wait()
		if tr, ok := <-w1; ok {
			t.Fatalf("cancelled watcher delivered %+v, want its channel closed", tr)
		}
		if tr := <-w2; tr.To != vrrp.StateMaster || tr.Reason != vrrp.ReasonOwner {
			t.Fatalf("second watcher got %+v, want INIT -> MASTER (owner)", tr)
		}
		cancel()
		<-done
		if tr, ok := <-w2; !ok || tr.To != vrrp.StateStop {
			t.Fatalf("second watcher got %+v, %v; want the STOP transition", tr, ok)
		}
		if _, ok := <-w2; ok {
			t.Fatal("second watcher not closed after Run returned")
		}
		if _, ok := <-inst.Watch(context.Background()); ok {
			t.Fatal("watcher started after Run returned delivered a transition")
		}
	})
}
