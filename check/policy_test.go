package check

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// runTracker feeds results to a Tracker, each at the time it asks for: "ok",
// "fail" or "w=N" (success with dynamic weight N). It returns the trace.
func runTracker(t *testing.T, p Policy, jitter time.Duration, results []string) []string {
	t.Helper()
	t0 := time.Unix(1000, 0)
	tr, err := NewTracker(p, t0, jitter)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	cur := tr.Current(t0)
	log = append(log, fmt.Sprintf("start %v", cur.To))
	for _, r := range results {
		now := tr.NextDeadline()
		if tr.Begin(now.Add(-time.Nanosecond)) {
			t.Fatal("Begin before the deadline")
		}
		if !tr.Begin(now) {
			t.Fatal("Begin at the deadline refused")
		}
		if !tr.NextDeadline().IsZero() || tr.Begin(now) {
			t.Fatal("running tracker offers another check")
		}
		var err error
		w, dyn := 0, false
		switch {
		case r == "fail":
			err = errors.New("boom")
		case strings.HasPrefix(r, "w="):
			fmt.Sscanf(r, "w=%d", &w)
			dyn = true
		}
		entry := fmt.Sprintf("%v %s", now.Sub(t0), r)
		if tn, ok := tr.Result(now, err, w, dyn); ok {
			entry += " -> " + tn.String()
			if !tn.At.Equal(now) {
				t.Errorf("transition at %v, want %v", tn.At, now)
			}
		}
		log = append(log, entry)
	}
	return log
}

func TestTracker(t *testing.T) {
	p := Policy{Interval: 10 * time.Second, DelayBeforeRetry: 2 * time.Second}
	tests := []struct {
		name    string
		p       Policy
		jitter  time.Duration
		results []string
		want    []string
	}{
		{"up stays up", p, 0, []string{"ok", "ok"}, []string{"start up", "0s ok", "10s ok"}},
		{"fall 1", p, 0, []string{"fail", "fail", "ok"}, []string{"start up", "0s fail -> up -> down (fall): boom", "10s fail", "20s ok -> down -> up (rise)"}},
		{"warmup jitter", p, 3 * time.Second, []string{"ok", "ok"}, []string{"start up", "3s ok", "13s ok"}},
		{"alpha", Policy{Interval: 10 * time.Second, Alpha: true}, 0, []string{"ok"},
			[]string{"start down", "0s ok -> down -> up (rise)"}},
		{"retry", Policy{Interval: 10 * time.Second, DelayBeforeRetry: 2 * time.Second, Retry: 2}, 0,
			[]string{"fail", "fail", "ok", "fail", "fail", "fail", "fail", "fail"},
			[]string{"start up", "0s fail", "2s fail", "4s ok", "14s fail", "16s fail", "18s fail -> up -> down (fall): boom", "28s fail", "38s fail"}},
		{"fall 3", Policy{Interval: 10 * time.Second, Fall: 3}, 0, []string{"fail", "fail", "ok", "fail", "fail", "fail"},
			[]string{"start up", "0s fail", "10s fail", "20s ok", "30s fail", "40s fail", "50s fail -> up -> down (fall): boom"}},
		{"rise 2 resets on failure", Policy{Interval: 10 * time.Second, Rise: 2, Alpha: true}, 0, []string{"ok", "fail", "ok", "ok"},
			[]string{"start down", "0s ok", "10s fail", "20s ok", "30s ok -> down -> up (rise)"}},
		{"fall and retry combined", Policy{Interval: 10 * time.Second, DelayBeforeRetry: time.Second, Retry: 1, Fall: 2}, 0,
			[]string{"fail", "fail", "fail", "fail"},
			[]string{"start up", "0s fail", "1s fail", "11s fail", "12s fail -> up -> down (fall): boom"}},
		{"dynamic weight", p, 0, []string{"w=5", "w=5", "w=7", "ok", "fail", "w=3"},
			[]string{"start up", "0s w=5 -> up -> up (weight) weight 5", "10s w=5", "20s w=7 -> up -> up (weight) weight 7",
				"30s ok -> up -> up (weight)", "40s fail -> up -> down (fall): boom", "50s w=3 -> down -> up (rise) weight 3"}},
		{"defaults", Policy{}, 0, []string{"ok", "fail", "ok"}, []string{"start up", "0s ok", "5s fail -> up -> down (fall): boom", "10s ok -> down -> up (rise)"}},
		{"negative jitter", p, -time.Second, []string{"ok"}, []string{"start up", "0s ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runTracker(t, tt.p, tt.jitter, tt.results)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("trace (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrackerAccessors(t *testing.T) {
	t0 := time.Unix(0, 0)
	tr, err := NewTracker(Policy{Alpha: true}, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.State() != StateDown || tr.Err() != nil {
		t.Fatalf("alpha tracker: %v %v", tr.State(), tr.Err())
	}
	if got := tr.Policy(); got.Interval != DefaultInterval || got.Timeout != DefaultTimeout || got.Rise != 1 || got.Fall != 1 {
		t.Errorf("defaults not applied: %+v", got)
	}
	tr.Begin(t0)
	boom := errors.New("boom")
	tr.Result(t0, boom, 0, false)
	if tr.Err() != boom {
		t.Errorf("Err = %v", tr.Err())
	}
	next := tr.NextDeadline()
	tr.Begin(next)
	tr.Result(next, nil, 4, true)
	if w, ok := tr.Weight(); w != 4 || !ok || tr.State() != StateUp {
		t.Errorf("after weighted success: %v %v %v", w, ok, tr.State())
	}
	if _, err := NewTracker(Policy{Interval: -1, Rise: -1}, t0, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("invalid policy accepted: %v", err)
	}
	for s, want := range map[State]string{StateUnknown: "unknown", StateUp: "up", StateDown: "down"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}

// Cause names are stable: logs and the daemon's output use them.
func TestCauseString(t *testing.T) {
	tests := []struct {
		c    Cause
		want string
	}{
		{CauseUnknown, "unknown"}, {CauseInitial, "initial"}, {CauseRise, "rise"},
		{CauseFall, "fall"}, {CauseWeight, "weight"}, {Cause(99), "Cause(99)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cause(%d).String() = %q, want %q", tt.c, got, tt.want)
		}
		if b, _ := tt.c.MarshalText(); string(b) != tt.want {
			t.Errorf("Cause(%d).MarshalText() = %q, want %q", tt.c, b, tt.want)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cause", CauseFall)
	if !strings.Contains(buf.String(), `"cause":"fall"`) {
		t.Errorf("JSON log %s: want the cause's name", buf.String())
	}
	tr := Transition{From: StateUp, To: StateDown, Cause: CauseFall, Err: errBoom}
	if got, want := tr.String(), "up -> down (fall): boom"; got != want {
		t.Errorf("Transition.String() = %q, want %q", got, want)
	}
}
