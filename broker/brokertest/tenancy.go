package brokertest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// A restarted service, or a second one on the same broker, consumes the
// results of the endpoints it is told to Resume, which another Service
// set up, and only those; an endpoint the broker does not have is
// counted missing and left out.
func testResumeOnAnotherService(t *testing.T, b *bundle) {
	if b.env.Reopen == nil {
		t.Skip("Env.Reopen is nil")
	}
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	want := resultsFor(newTasks(2, "before-restart"))
	if err := c.PublishResults(b.ctx(t), want); err != nil {
		t.Fatalf("publish results: %v", err)
	}

	other := b.env.Reopen(t, b.svc)
	t.Cleanup(func() { _ = other.Close() })
	reopened := &bundle{env: b.env, svc: other}
	results := reopened.consume(t, nil)
	reopened.nothingMore(t, results)
	if st := other.ConsumerStats(); st.Endpoints != 0 {
		t.Fatalf("ConsumerStats() before Resume = %+v, want no endpoint", st)
	}
	never := b.env.EndpointID(t)
	if err := other.Resume(b.ctx(t), []string{id, never}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	g := b.next(t, results)
	if g.endpointID != id {
		t.Fatalf("message from %s, want %s", g.endpointID, id)
	}
	sameResults(t, g.m.Results, want)
	// What the endpoint sends from now on arrives too.
	more := resultsFor(newTasks(1, "after-restart"))
	if err := c.PublishResults(b.ctx(t), more); err != nil {
		t.Fatalf("publish results: %v", err)
	}
	sameResults(t, b.next(t, results).m.Results, more)
	b.eventually(t, "the endpoint never set up is counted missing and left out", func() (bool, string) {
		st := other.ConsumerStats()
		return st.Errors[broker.ReasonMissing] >= 1 && st.Endpoints == 1 && st.Unconsumed == 0, fmt.Sprintf("%+v", st)
	})
}

// One endpoint's result queue that cannot be consumed does not hold up
// another's results; it is counted, retried, and consumed again once it
// is usable.
func testLockedQueueIsolated(t *testing.T, b *bundle) {
	if b.env.LockResults == nil {
		t.Skip("Env.LockResults is nil")
	}
	results := b.consume(t, nil)
	idA, credsA := b.endpoint(t)
	idB, credsB := b.endpoint(t)
	a, bc := b.dial(t, credsA), b.dial(t, credsB)
	b.roundTrip(t, results, a, idA, "a-before")
	b.roundTrip(t, results, bc, idB, "b-before")

	unlock, err := b.env.LockResults(b.ctx(t), b.svc, idA)
	if err != nil {
		t.Fatalf("lock A's results: %v", err)
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	b.eventually(t, "A's locked queue is counted and not consumed", func() (bool, string) {
		st := b.svc.ConsumerStats()
		return st.Errors[broker.ReasonLocked] >= 1 && st.Unconsumed == 1, fmt.Sprintf("%+v", st)
	})
	for i := range 3 {
		b.roundTrip(t, results, bc, idB, fmt.Sprint("b-while-locked-", i))
	}
	unlock()
	locked = false
	// On RabbitMQ the locked queue went with its connection: the Service
	// declares it again, and until then A's publishes find no queue.
	want := resultsFor(newTasks(1, "a-after"))
	b.eventually(t, "A can publish again", func() (bool, string) {
		err := a.PublishResults(b.ctx(t), want)
		return err == nil, fmt.Sprint(err)
	})
	for {
		g := b.next(t, results)
		if g.endpointID == idA && len(g.m.Results) == 1 && g.m.Results[0].TaskID == want[0].TaskID {
			break
		}
	}
	b.eventually(t, "every queue is consumed again", func() (bool, string) {
		st := b.svc.ConsumerStats()
		return st.Unconsumed == 0, fmt.Sprintf("%+v", st)
	})
	b.roundTrip(t, results, bc, idB, "b-after")
}

// A message whose handler keeps failing while others succeed is dropped
// after PoisonAfter attempts and counted; the others, of its endpoint and
// of another, flow meanwhile.
func testPoisonedMessageDropped(t *testing.T, b *bundle) {
	if b.env.PoisonAfter == 0 {
		t.Skip("Env.PoisonAfter is 0")
	}
	poison := resultsFor(newTasks(1, "poison"))
	g := guard{seen: map[funcx.TaskID]int{}}
	results := b.consume(t, func(_ string, m broker.Message) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, r := range m.Results {
			if r.TaskID == poison[0].TaskID {
				g.seen[r.TaskID]++
				return errors.New("cannot store this one")
			}
		}
		return nil
	})
	idA, credsA := b.endpoint(t)
	idB, credsB := b.endpoint(t)
	a, bc := b.dial(t, credsA), b.dial(t, credsB)
	if err := a.PublishResults(b.ctx(t), poison); err != nil {
		t.Fatalf("publish results: %v", err)
	}
	for i := range 3 {
		b.roundTrip(t, results, a, idA, fmt.Sprint("a-", i))
		b.roundTrip(t, results, bc, idB, fmt.Sprint("b-", i))
	}
	b.eventually(t, "the poisoned message is dropped", func() (bool, string) {
		st := b.svc.ConsumerStats()
		return st.Errors[broker.ReasonPoisoned] == 1, fmt.Sprintf("%+v", st)
	})
	b.nothingMore(t, results)
	g.mu.Lock()
	defer g.mu.Unlock()
	// More than PoisonAfter if no other message was handled yet when
	// the PoisonAfter-th attempt failed.
	if n := g.seen[poison[0].TaskID]; n < b.env.PoisonAfter {
		t.Errorf("the poisoned message was tried %d times, want PoisonAfter (%d) or more", n, b.env.PoisonAfter)
	}
}

// A handler that fails for every message (its store is down) never has a
// message dropped, however long it fails.
func testFailingHandlerDropsNothing(t *testing.T, b *bundle) {
	if b.env.PoisonAfter == 0 {
		t.Skip("Env.PoisonAfter is 0")
	}
	g := guard{seen: map[funcx.TaskID]int{}}
	down := true
	results := b.consume(t, func(_ string, m broker.Message) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, r := range m.Results {
			g.seen[r.TaskID]++
		}
		if down {
			return errors.New("store down")
		}
		return nil
	})
	_, creds := b.endpoint(t)
	c := b.dial(t, creds)
	want := resultsFor(newTasks(3, "down"))
	for i := range want {
		if err := c.PublishResults(b.ctx(t), want[i:i+1]); err != nil {
			t.Fatalf("publish results: %v", err)
		}
	}
	b.eventually(t, "every message failed more than PoisonAfter times", func() (bool, string) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, r := range want {
			if g.seen[r.TaskID] <= b.env.PoisonAfter {
				return false, fmt.Sprint(g.seen)
			}
		}
		return true, ""
	})
	g.mu.Lock()
	down = false
	g.mu.Unlock()
	got := map[funcx.TaskID]bool{}
	for len(got) < len(want) {
		for _, r := range b.next(t, results).m.Results {
			got[r.TaskID] = true
		}
	}
	if n := b.svc.ConsumerStats().Errors[broker.ReasonPoisoned]; n != 0 {
		t.Errorf("%d messages dropped as poisoned while every message failed", n)
	}
}

// roundTrip publishes one result from endpoint id on c and waits for it,
// skipping other messages of id (a heartbeat, a retried message) but not
// another endpoint's.
func (b *bundle) roundTrip(t *testing.T, results <-chan got, c broker.EndpointConn, id, tag string) {
	t.Helper()
	want := resultsFor(newTasks(1, tag))
	if err := c.PublishResults(b.ctx(t), want); err != nil {
		t.Fatalf("%s: publish results: %v", tag, err)
	}
	for {
		g := b.next(t, results)
		if g.endpointID == id && len(g.m.Results) == 1 && g.m.Results[0].TaskID == want[0].TaskID {
			return
		}
		t.Logf("%s: skipping a message from %s: %d results", tag, g.endpointID, len(g.m.Results))
	}
}

// eventually waits until cond holds.
func (b *bundle) eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(b.env.Timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (%s)", what, b.env.Timeout, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
