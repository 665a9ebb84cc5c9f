package main

// This file owns queue, the daemon's one concurrency primitive: the
// daemon's loop, each instance's worker and the LVS worker are queues.

import "sync"

// queue is an unbounded FIFO of functions run by one worker goroutine, so
// that callbacks which must return quickly (vrrp's OnTransition, check's
// OnTransition) can hand work off without blocking and without dropping it.
// Its mutex is the only one in the daemon.
type queue struct {
	mu     sync.Mutex
	items  []func()
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

// newQueue starts the worker.
func newQueue() *queue {
	q := &queue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// push queues f and reports whether it did: after close f is dropped.
func (q *queue) push(f func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// close runs what is queued, then ends the worker and waits for it.
func (q *queue) close() {
	q.mu.Lock()
	already := q.closed
	q.closed = true
	q.mu.Unlock()
	if !already {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	<-q.done
}

func (q *queue) run() {
	defer close(q.done)
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.items) == 0 {
				closed := q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				break
			}
			f := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			f()
		}
	}
}
