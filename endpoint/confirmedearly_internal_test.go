package endpoint

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/internal/journal"
)

// confirmingConn is a broker connection whose broker confirms every
// result publish at once.
type confirmingConn struct {
	broker.EndpointConn // only PublishResults is used
	mu                  sync.Mutex
	published           int
}

func (c *confirmingConn) PublishResults(_ context.Context, results []funcx.Result) error {
	c.mu.Lock()
	c.published += len(results)
	c.mu.Unlock()
	return nil
}

// waitDone waits for a delivery's commit to be settled, failing the test
// if it is not within a generous bound (the linger of these tests is a
// minute, so only a confirm or a stop ends it).
func waitDone(t *testing.T, c *commitWait, what string) {
	t.Helper()
	select {
	case <-c.done:
		if c.err != nil {
			t.Fatalf("%s: %v", what, c.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: the delivery is still waiting for its commit", what)
	}
}

// A task whose result the broker confirms before its delivery's commit
// is not journaled at all: the delivery is acked without a commit, and
// the task is recorded done with the other confirmed results (in the
// publisher's Confirm, or with the next tasks' commit), known from
// memory until then. On a quiet endpoint that takes the journal's
// commit (two fsyncs) off every short task; before, each delivery was
// committed at once. A task whose result does not come within the
// linger is journaled as before, and a stop does not wait for the
// linger.
func TestTaskConfirmedBeforeItsCommitIsNotJournaled(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := &runner{j: j, log: slog.New(slog.DiscardHandler), published: make(chan struct{}, 1),
		conns: newConnHolder(), early: confirmedEarly{wake: make(chan struct{}, 1)}, journalLinger: time.Minute}
	conn := &confirmingConn{}
	r.conns.set(conn)
	deliver := func(jr *journaler, tasks []funcx.Task) (*fakeDelivery, *commitWait) {
		f := &fakeDelivery{tasks: tasks}
		c := doneWait()
		if fresh := r.live.admit(tasks, c, j.Known); len(fresh) != len(tasks) {
			t.Fatalf("%d of %d tasks fresh", len(fresh), len(tasks))
		}
		jr.add(f.delivery(j), c)
		return f, c
	}
	// record runs the result loop's recording of results published
	// (and confirmed) by publishDirect.
	record := func(results []funcx.Result, direct func() bool) {
		queue := make(chan toRecord, 1)
		queue <- toRecord{results: results, direct: direct}
		close(queue)
		r.recordLoop(queue)
	}

	// 1. Both tasks' results are confirmed while the delivery waits.
	jr := newJournaler(r)
	tasks := newTasks(2)
	f, c := deliver(jr, tasks)
	results := resultsOf(tasks)
	direct := r.publishDirect(ctx, results, nil)
	waitDone(t, c, "tasks whose results the broker confirmed")
	record(results, direct)
	jr.stop() // after the delivery's settling
	if f.acked != 1 || f.nacked != 0 || f.journaledAtAck {
		t.Fatalf("delivery: acked %d, nacked %d, journaled at ack %v; want acked once, not journaled", f.acked, f.nacked, f.journaledAtAck)
	}
	if s := j.Stats(); s.Commits != 0 || s.Tasks != 0 || s.Outbox != 0 || s.Done != 0 {
		t.Fatalf("journal after two confirmed tasks: %+v, want no commit at all", s)
	}
	if got := r.recorded.Load(); got != 2 {
		t.Fatalf("recorded = %d, want 2", got)
	}
	// A redelivery of them is known: from memory until the publisher's
	// Confirm records them done, from the journal after.
	if fresh := r.live.admit(tasks, doneWait(), r.knownTask); len(fresh) != 0 {
		t.Fatalf("a redelivery of finished tasks would run %d of them again", len(fresh))
	}
	confirmed := r.sent.takeConfirmed()
	if got, want := len(confirmed), 2; got != want {
		t.Fatalf("%d confirmed IDs wait to be recorded done, want %d", got, want)
	}
	if err := j.Confirm(ctx, confirmed); err != nil {
		t.Fatal(err)
	}
	r.sent.confirmDone(confirmed)
	if s := j.Stats(); s.Commits != 1 || s.Done != 2 || s.Tasks != 0 {
		t.Fatalf("after the publisher's Confirm: %+v, want the 2 tasks done in 1 commit", s)
	}
	if fresh := r.live.admit(tasks, doneWait(), r.knownTask); len(fresh) != 0 {
		t.Fatalf("a redelivery of tasks recorded done would run %d of them again", len(fresh))
	}

	// 2. One of two results is confirmed, and the endpoint stops while
	// the delivery waits for the other: the commit runs at once, with
	// the task without a result only.
	jr = newJournaler(r)
	tasks = newTasks(2)
	f, c = deliver(jr, tasks)
	results = resultsOf(tasks)
	direct = r.publishDirect(ctx, results[:1], nil)
	// The confirm arrives on publishDirect's goroutine.
	for first, giveUp := []journaling{{d: broker.Delivery{Tasks: tasks[:1]}}}, time.Now().Add(20*time.Second); !r.early.all(first); {
		if time.Now().After(giveUp) {
			t.Fatal("a confirmed result never reached the journaler")
		}
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { jr.stop(); close(stopped) }()
	waitDone(t, c, "a delivery waiting when the endpoint stops")
	<-stopped
	if f.acked != 1 || f.nacked != 0 {
		t.Fatalf("delivery: acked %d, nacked %d; want acked once", f.acked, f.nacked)
	}
	if j.Known(tasks[0].ID) || !j.Known(tasks[1].ID) {
		t.Fatalf("journal knows the confirmed task: %v, the other: %v; want only the other", j.Known(tasks[0].ID), j.Known(tasks[1].ID))
	}
	record(results[:1], direct)
	if s := j.Stats(); s.Commits != 2 || s.Tasks != 1 {
		t.Fatalf("journal: %+v, want 1 more commit, of the 1 task without a result", s)
	}

	// 3. A delivery whose result does not come is journaled once the
	// wait is over, without a stop.
	r.journalLinger = 50 * time.Millisecond
	jr = newJournaler(r)
	defer jr.stop()
	tasks = newTasks(1)
	_, c = deliver(jr, tasks)
	waitDone(t, c, "a delivery whose result does not come")
	if !j.Known(tasks[0].ID) {
		t.Fatal("the task without a result is not journaled after the wait")
	}
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if conn.published != 3 {
		t.Fatalf("published %d results, want 3", conn.published)
	}
}
