package vrrp_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// stalledTransport models a process that was paused: packets arrive in its
// queue, but the instance's reader goroutine never gets them from ReadFrom
// (it blocks until Close); only ReadPending sees them.
type stalledTransport struct {
	mu     sync.Mutex
	queue  [][]byte
	src    netip.Addr
	closed chan struct{}
	once   sync.Once
}

func (s *stalledTransport) push(b []byte) {
	s.mu.Lock()
	s.queue = append(s.queue, b)
	s.mu.Unlock()
}

func (s *stalledTransport) ReadFrom([]byte) (int, vrrp.Meta, error) {
	<-s.closed
	return 0, vrrp.Meta{}, net.ErrClosed
}

func (s *stalledTransport) ReadPending(b []byte) (int, vrrp.Meta, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return 0, vrrp.Meta{}, false
	}
	p := s.queue[0]
	s.queue = s.queue[1:]
	return copy(b, p), vrrp.Meta{Src: s.src, Dst: vrrp.MulticastGroup4, TTL: 255}, true
}

func (s *stalledTransport) WriteTo([]byte, netip.Addr) error { return nil }

func (s *stalledTransport) Close() error { s.once.Do(func() { close(s.closed) }); return nil }

// A BACKUP whose runner wakes late, with the clock already past its
// Master_Down_Timer, first processes the advertisements of the live master
// that arrived meanwhile, and stays BACKUP; with none waiting, it takes over.
func TestInstanceStallDrainsBeforeTimer(t *testing.T) {
	tests := []struct {
		name      string
		pending   int // advertisements from B (priority 200) waiting at the wake-up
		wantState vrrp.State
	}{
		{"master alive: adverts waiting", 3, vrrp.StateBackup},
		{"master silent: nothing waiting", 0, vrrp.StateMaster},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				tr := &stalledTransport{src: addrB, closed: make(chan struct{})}
				rec := &recorder{}
				inst, err := vrrp.New(vrrp.Config{VRID: 51, Priority: 100, Source: addrA, Addrs: []netip.Addr{vip},
					Clock: clk, OnTransition: rec.add}, tr)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error)
				go func() { done <- inst.Run(ctx) }()
				clk.BlockUntil(1) // Master_Down_Timer armed: 3.609375s
				for range tt.pending {
					tr.push(advertFrom(t, addrB, 200, time.Second))
				}
				clk.Advance(10 * time.Second) // the jump: woken long after the deadline
				synctest.Wait()
				if got := inst.State(); got != tt.wantState {
					t.Errorf("state after the jump = %v, want %v (transitions %v)", got, tt.wantState, rec.steps())
				}
				s := inst.Stats()
				if s.DrainedBeforeTimer != uint64(tt.pending) || s.AdvertsReceived != uint64(tt.pending) {
					t.Errorf("DrainedBeforeTimer, AdvertsReceived = %d, %d; want %d each", s.DrainedBeforeTimer, s.AdvertsReceived, tt.pending)
				}
				if tt.pending > 0 {
					if got := inst.Master(); got != addrB {
						t.Errorf("Master() = %v, want %v", got, addrB)
					}
					// The adverts restarted the timer at the wake-up: with
					// the master now silent, it expires a full
					// Master_Down_Interval later, not before.
					clk.Advance(3600 * time.Millisecond)
					synctest.Wait()
					if got := inst.State(); got != vrrp.StateBackup {
						t.Errorf("state %v before Master_Down_Interval after the wake-up", got)
					}
					clk.Advance(10 * time.Millisecond)
					synctest.Wait()
					if got := inst.State(); got != vrrp.StateMaster {
						t.Errorf("state %v after Master_Down_Interval with the master silent", got)
					}
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
