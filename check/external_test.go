package check

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExternalCheck(t *testing.T) {
	e := NewExternal("bfd 192.0.2.1", true)
	ctx := context.Background()
	if err := e.Check(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	e.Set(false, "session down (neighbor signaled down)")
	err := e.Check(ctx)
	checkResult(t, err, ReasonExternal, nil)
	if !errors.Is(err, ErrExternalDown) {
		t.Errorf("%v does not wrap ErrExternalDown", err)
	}
	if want := "check: external bfd 192.0.2.1: external: reported down: session down (neighbor signaled down)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if up, reason := e.State(); up || reason != "session down (neighbor signaled down)" {
		t.Errorf("State = %v %q", up, reason)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	checkResult(t, e.Check(canceled), ReasonCanceled, nil)
}

// Notifications come only when up changes, and stop when unregistered.
func TestExternalNotify(t *testing.T) {
	e := NewExternal("x", true)
	var n int
	stop := e.Notify(func() { n++ })
	e.Set(true, "")
	e.Set(false, "a")
	e.Set(false, "b")
	e.Set(true, "")
	if n != 2 {
		t.Errorf("%d notifications, want 2", n)
	}
	stop()
	e.Set(false, "")
	if n != 2 || len(e.subs) != 0 {
		t.Errorf("notified after stop (%d), %d callbacks left", n, len(e.subs))
	}
}

// A Monitor follows an External at once, not one interval later; Fall
// still counts checks, and a removed watch leaves no callback behind.
func TestMonitorExternal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := NewMonitor(MonitorConfig{})
		e := NewExternal("bfd", true)
		rec := &recorder{start: start}
		p := Policy{Interval: 10 * time.Second}
		remove, err := m.Add(Watch{Checker: e, Policy: p, OnTransition: rec.on})
		if err != nil {
			t.Fatal(err)
		}
		e2 := NewExternal("bfd2", true)
		rec2 := &recorder{start: start}
		if _, err := m.Add(Watch{Checker: e2, Policy: Policy{Interval: 10 * time.Second, Fall: 2}, OnTransition: rec2.on}); err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		time.Sleep(time.Second)
		e.Set(false, "session down")
		e2.Set(false, "session down")
		time.Sleep(time.Second)
		e.Set(true, "")
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		remove()
		synctest.Wait()
		e.mu.Lock()
		left := len(e.subs)
		e.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		stop()
		want := []string{"t=0s unknown->up initial", "t=1s up->down fall", "t=2s down->up rise"}
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
		// Fall 2: the notified check at 1 s is the first failure, the
		// scheduled one at 11 s the second.
		want2 := []string{"t=0s unknown->up initial", "t=11s up->down fall"}
		if diff := cmp.Diff(want2, rec2.get()); diff != "" {
			t.Errorf("fall 2 transitions (-want +got):\n%s", diff)
		}
		if left != 0 {
			t.Errorf("%d notify callbacks left after remove", left)
		}
		e2.mu.Lock()
		defer e2.mu.Unlock()
		if len(e2.subs) != 0 {
			t.Errorf("%d notify callbacks left after Run returned", len(e2.subs))
		}
	})
}

// Trigger while a check runs: the next check starts as soon as the result
// is in; otherwise at once; never later than already due.
func TestTrackerTrigger(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr, err := NewTracker(Policy{Interval: 10 * time.Second}, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Begin(t0) {
		t.Fatal("first check not due")
	}
	tr.Trigger(t0.Add(time.Second))
	tr.Result(t0.Add(2*time.Second), nil, 0, false)
	if got := tr.NextDeadline(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("after a trigger during the check: next %v, want at the result", got.Sub(t0))
	}
	tr.Begin(t0.Add(2 * time.Second))
	tr.Result(t0.Add(3*time.Second), nil, 0, false)
	if got := tr.NextDeadline(); !got.Equal(t0.Add(13 * time.Second)) {
		t.Errorf("without trigger: next %v, want the interval", got.Sub(t0))
	}
	tr.Trigger(t0.Add(4 * time.Second))
	if got := tr.NextDeadline(); !got.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("trigger when idle: next %v, want now", got.Sub(t0))
	}
	tr.Trigger(t0.Add(5 * time.Second))
	if got := tr.NextDeadline(); !got.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("second trigger moved the deadline later: %v", got.Sub(t0))
	}
}
