package check

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Policy.
const (
	DefaultInterval         = 5 * time.Second
	DefaultTimeout          = 5 * time.Second
	DefaultDelayBeforeRetry = time.Second
)

// Policy says how often a target is checked and how many results it takes
// to change its state. The field names are keepalived's. The zero Policy is
// valid and means the defaults. Policy is comparable.
type Policy struct {
	// Interval is the time between the end of one check and the start of
	// the next (delay_loop, vrrp_script's interval). If zero,
	// DefaultInterval. Any positive duration is honoured as given,
	// including below a second (interval 0.25).
	Interval time.Duration
	// Timeout bounds one check (connect_timeout). If zero,
	// DefaultTimeout.
	Timeout time.Duration
	// Retry is how many times a failed check is retried, DelayBeforeRetry
	// apart, before it counts as a failure (retry). Retries apply only while
	// the target is up.
	Retry int
	// DelayBeforeRetry is the wait before a retry (delay_before_retry). If
	// zero, DefaultDelayBeforeRetry.
	DelayBeforeRetry time.Duration
	// Rise is how many consecutive successes bring a down target up
	// (rise). If zero, 1.
	Rise int
	// Fall is how many consecutive failures bring an up target down
	// (fall). If zero, 1.
	Fall int
	// Warmup delays the first check by a random duration in [0, Warmup]
	// (warmup), spreading the checks of many targets. If zero, the first
	// check starts at once.
	Warmup time.Duration
	// Alpha starts the target down instead of up (alpha), so it needs Rise
	// successes before it is used.
	Alpha bool
}

// Validate reports every invalid field.
func (p Policy) Validate() error {
	var errs []error
	if p.Interval < 0 || p.Timeout < 0 || p.DelayBeforeRetry < 0 || p.Warmup < 0 {
		errs = append(errs, fmt.Errorf("check: negative duration in policy: %w", ErrInvalidConfig))
	}
	if p.Retry < 0 || p.Rise < 0 || p.Fall < 0 {
		errs = append(errs, fmt.Errorf("check: negative count in policy: %w", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// withDefaults returns p with zero fields replaced by their defaults.
func (p Policy) withDefaults() Policy {
	if p.Interval == 0 {
		p.Interval = DefaultInterval
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.DelayBeforeRetry == 0 {
		p.DelayBeforeRetry = DefaultDelayBeforeRetry
	}
	p.Rise = max(p.Rise, 1)
	p.Fall = max(p.Fall, 1)
	return p
}

// State is the health of a monitored target.
type State uint8

// States of a target.
const (
	StateUnknown State = iota
	StateUp
	StateDown
)

// String returns "unknown", "up" or "down".
func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	}
	return "unknown"
}

// Cause says why a [Transition] happened. The zero value is
// CauseUnknown, which no transition carries.
type Cause uint8

// Causes of transitions.
const (
	CauseUnknown Cause = iota // never reported
	CauseInitial              // the state a target starts in, or has when a consumer joins
	CauseRise                 // Rise consecutive successes
	CauseFall                 // Fall consecutive failures
	CauseWeight               // the dynamic weight changed while up
)

var causeNames = [...]string{
	CauseUnknown: "unknown",
	CauseInitial: "initial",
	CauseRise:    "rise",
	CauseFall:    "fall",
	CauseWeight:  "weight",
}

// String returns the cause's name: "initial", "rise", "fall" or "weight".
func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(%d)", c)
}

// MarshalText returns the cause's name, so that logs and JSON show
// "fall", not a number.
func (c Cause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Transition reports a change of a target's state or dynamic weight.
type Transition struct {
	From, To State
	// Cause says why: CauseInitial, CauseRise, CauseFall or CauseWeight.
	Cause Cause
	// Err is the failure that brought the target down (nil otherwise).
	Err error
	// At is when the transition happened.
	At time.Time
	// Weight and Dynamic are the dynamic weight reported by a
	// WeightChecker with the last success.
	Weight  int
	Dynamic bool
}

// String describes t for logs.
func (t Transition) String() string {
	s := fmt.Sprintf("%v -> %v (%s)", t.From, t.To, t.Cause)
	if t.Dynamic {
		s += fmt.Sprintf(" weight %d", t.Weight)
	}
	if t.Err != nil {
		s += ": " + t.Err.Error()
	}
	return s
}

// Tracker is the pure core of monitoring: one target's state under a
// Policy. It has no clock, goroutines or I/O; the caller passes the time in.
// The runner calls Begin when NextDeadline has passed, runs the check, and
// passes its result to Result.
type Tracker struct {
	p          Policy
	state      State
	next       time.Time
	running    bool
	again      bool // Trigger during a running check: check again at once
	succ, fail int
	retryLeft  int
	weight     int
	dynamic    bool
	lastErr    error
}

// NewTracker returns a Tracker whose first check is due at now+jitter
// (the runner draws jitter from [0, p.Warmup]).
func NewTracker(p Policy, now time.Time, jitter time.Duration) (*Tracker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	t := &Tracker{p: p, state: StateUp, next: now.Add(max(jitter, 0)), retryLeft: p.Retry}
	if p.Alpha {
		t.state = StateDown
	}
	return t, nil
}

// Policy returns the policy with defaults applied.
func (t *Tracker) Policy() Policy { return t.p }

// State returns the current state.
func (t *Tracker) State() State { return t.state }

// Weight returns the last dynamic weight and whether there is one.
func (t *Tracker) Weight() (int, bool) { return t.weight, t.dynamic }

// Err returns the last failure, or nil after a success.
func (t *Tracker) Err() error { return t.lastErr }

// NextDeadline returns when the next check is due; the zero time while a
// check is running.
func (t *Tracker) NextDeadline() time.Time {
	if t.running {
		return time.Time{}
	}
	return t.next
}

// Begin reports whether a check is due at now and, if so, marks it running.
func (t *Tracker) Begin(now time.Time) bool {
	if t.running || now.Before(t.next) {
		return false
	}
	t.running = true
	return true
}

// Trigger makes the next check due at now: at once if none is running,
// else as soon as the running one's result is in (a [Notifier] said the
// result may have changed). A pending retry delay is cut short too.
func (t *Tracker) Trigger(now time.Time) {
	if t.running {
		t.again = true
		return
	}
	if now.Before(t.next) {
		t.next = now
	}
}

// Current returns a transition describing the present state, for a consumer
// that joins late.
func (t *Tracker) Current(now time.Time) Transition {
	return Transition{From: StateUnknown, To: t.state, Cause: CauseInitial, Err: t.lastErr, At: now, Weight: t.weight, Dynamic: t.dynamic}
}

// Result records the outcome of the running check at now and schedules the
// next one. It returns a transition when the state or the dynamic weight
// changed.
func (t *Tracker) Result(now time.Time, err error, weight int, dynamic bool) (Transition, bool) {
	t.running = false
	if t.again {
		t.again = false
		defer func() { t.next = now }()
	}
	if err != nil {
		t.lastErr = err
		t.succ = 0
		if t.state == StateUp && t.retryLeft > 0 {
			t.retryLeft--
			t.next = now.Add(t.p.DelayBeforeRetry)
			return Transition{}, false
		}
		t.retryLeft = t.p.Retry
		t.fail++
		t.next = now.Add(t.p.Interval)
		if t.state == StateUp && t.fail >= t.p.Fall {
			t.state = StateDown
			t.fail = 0
			return Transition{From: StateUp, To: StateDown, Cause: CauseFall, Err: err, At: now, Weight: t.weight, Dynamic: t.dynamic}, true
		}
		return Transition{}, false
	}
	t.lastErr = nil
	t.fail = 0
	t.retryLeft = t.p.Retry
	t.next = now.Add(t.p.Interval)
	changedWeight := dynamic != t.dynamic || (dynamic && weight != t.weight)
	if dynamic {
		t.weight, t.dynamic = weight, true
	} else {
		t.weight, t.dynamic = 0, false
	}
	if t.state == StateDown {
		t.succ++
		if t.succ >= t.p.Rise {
			t.state = StateUp
			t.succ = 0
			return Transition{From: StateDown, To: StateUp, Cause: CauseRise, At: now, Weight: t.weight, Dynamic: t.dynamic}, true
		}
		return Transition{}, false
	}
	if changedWeight {
		return Transition{From: StateUp, To: StateUp, Cause: CauseWeight, At: now, Weight: t.weight, Dynamic: t.dynamic}, true
	}
	return Transition{}, false
}
