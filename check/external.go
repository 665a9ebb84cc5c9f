package check

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrExternalDown is wrapped by the error of an [External] reported down.
var ErrExternalDown = errors.New("reported down")

// A Notifier is a Checker that knows when its result may have changed. A
// [Monitor] checks it as soon as it calls the function registered with
// Notify, instead of waiting for the policy's interval. Notify returns a
// function that unregisters f; f never blocks and may be called from any
// goroutine.
type Notifier interface {
	Checker
	Notify(f func()) (stop func())
}

// External is a Checker whose state is set from outside: a BFD session's
// state for keepalived's BFD_CHECK, a routing daemon, an operator's switch.
// Check reports the last state set, without I/O. It is a [Notifier], so a
// Monitor reports a change within one loop iteration, not one interval;
// Policy's Rise and Fall still apply.
//
// The zero value is not usable; use [NewExternal]. Set, State and Check are
// safe for concurrent use and may be called from any callback, including
// the Monitor's OnTransition and a bfd session's state callback.
type External struct {
	name string

	mu     sync.Mutex
	up     bool
	reason string
	subs   map[uint64]func()
	nextID uint64
}

var _ Notifier = (*External)(nil)

// NewExternal returns an External named name (the Target of its errors)
// in state up.
func NewExternal(name string, up bool) *External {
	return &External{name: name, up: up, subs: make(map[uint64]func())}
}

// Set records the state and why (reason describes a down state in the
// check's error; it may be empty). Watchers are notified when up changes.
func (e *External) Set(up bool, reason string) {
	e.mu.Lock()
	changed := e.up != up
	e.up, e.reason = up, reason
	var fs []func()
	if changed {
		fs = make([]func(), 0, len(e.subs))
		for _, f := range e.subs {
			fs = append(fs, f)
		}
	}
	e.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// State returns the last state set and its reason.
func (e *External) State() (up bool, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.up, e.reason
}

// Check returns nil when the state is up, else an *Error with
// [ReasonExternal] wrapping [ErrExternalDown] and the reason.
func (e *External) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fail(ctx, "external", e.name, ReasonCanceled, err)
	}
	up, reason := e.State()
	if up {
		return nil
	}
	err := ErrExternalDown
	if reason != "" {
		err = fmt.Errorf("%w: %s", ErrExternalDown, reason)
	}
	return &Error{Check: "external", Target: e.name, Reason: ReasonExternal, Err: err}
}

// Notify implements [Notifier].
func (e *External) Notify(f func()) (stop func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := e.nextID
	e.subs[id] = f
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs, id)
	}
}
