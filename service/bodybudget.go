package service

import (
	"container/list"
	"context"
	"sync"
)

// bodyBudget bounds the request body bytes that all requests together
// hold in memory (Config.MaxBodyBytesInFlight). It is a weighted
// semaphore served in arrival order, so that a large body waiting for
// room is not starved by a stream of small ones.
type bodyBudget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	peak    int64     // the most ever held at once; tests check it against size
	waiters list.List // of *budgetWaiter, oldest first
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once the bytes are taken for the waiter
}

func newBodyBudget(size int64) *bodyBudget { return &bodyBudget{size: size} }

// acquire takes n bytes, waiting for room until ctx ends; then it
// returns ctx's error and holds nothing. n must not exceed the budget's
// size (Config.validate sees to it). A request that already holds bytes
// (a body of undeclared length, growing) passes growing: it waits ahead
// of those that hold none, since finishing it is what frees memory
// soonest.
func (b *bodyBudget) acquire(ctx context.Context, n int64, growing bool) error {
	b.mu.Lock()
	if (b.waiters.Len() == 0 || growing) && b.size-b.used >= n {
		b.takeLocked(n)
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	var elem *list.Element
	if growing {
		elem = b.waiters.PushFront(w)
	} else {
		elem = b.waiters.PushBack(w)
	}
	b.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready:
		// Granted while ctx ended: give the bytes back.
		b.used -= n
	default:
		b.waiters.Remove(elem)
	}
	// Either way the waiters behind may now fit.
	b.grantLocked()
	return ctx.Err()
}

// release gives back n bytes taken by acquire.
func (b *bodyBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		b.mu.Unlock()
		panic("service: body budget released more than it holds")
	}
	b.grantLocked()
	b.mu.Unlock()
}

func (b *bodyBudget) takeLocked(n int64) {
	b.used += n
	b.peak = max(b.peak, b.used)
}

// grantLocked serves the waiters in order while the first one fits.
func (b *bodyBudget) grantLocked() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if b.size-b.used < w.n {
			return
		}
		b.takeLocked(w.n)
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// inFlight returns the bytes held now and the most ever held at once.
func (b *bodyBudget) inFlight() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}
