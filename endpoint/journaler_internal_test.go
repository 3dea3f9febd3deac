package endpoint

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/internal/journal"
)

func newTasks(n int) []funcx.Task {
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Function{Kind: funcx.KindGo, Name: "noop"}}
	}
	return tasks
}

func resultsOf(tasks []funcx.Task) []funcx.Result {
	rs := make([]funcx.Result, len(tasks))
	for i := range tasks {
		rs[i] = funcx.Result{TaskID: tasks[i].ID, State: funcx.StateSuccess}
	}
	return rs
}

func ids(rs []funcx.Result) map[funcx.TaskID]bool {
	m := map[funcx.TaskID]bool{}
	for _, r := range rs {
		m[r.TaskID] = true
	}
	return m
}

func doneWait() *commitWait { return &commitWait{done: make(chan struct{})} }

// A delivered task is new unless it is live or known to the journal; a
// task whose commit failed is new again, so that its redelivery runs.
func TestLiveTasksAdmit(t *testing.T) {
	var l liveTasks
	tasks := newTasks(4)
	journaled := map[funcx.TaskID]bool{tasks[3].ID: true}
	known := func(id funcx.TaskID) bool { return journaled[id] }

	c1 := doneWait()
	// tasks[0] twice in one delivery; tasks[3] known to the journal.
	fresh := l.admit([]funcx.Task{tasks[0], tasks[1], tasks[0], tasks[3]}, c1, known)
	if len(fresh) != 2 || fresh[0].ID != tasks[0].ID || fresh[1].ID != tasks[1].ID {
		t.Fatalf("fresh = %v, want tasks 0 and 1", fresh)
	}
	// A redelivery while they run, before their commit.
	if fresh := l.admit(tasks[:3], doneWait(), known); len(fresh) != 1 || fresh[0].ID != tasks[2].ID {
		t.Fatalf("redelivery of live tasks: fresh = %v, want only task 2", fresh)
	}

	// Task 0's result is journaled: it leaves the live set, and the
	// journal knows it from then on.
	close(c1.done)
	rs := l.awaitJournaled(resultsOf(tasks[:1]))
	journaled[tasks[0].ID] = true
	l.forget(rs)
	if fresh := l.admit(tasks[:1], doneWait(), known); len(fresh) != 0 {
		t.Fatalf("task with a journaled result admitted again: %v", fresh)
	}
}

// A result waits for its task's commit, and is dropped (and its task
// made new again) if the commit failed: nothing is published or
// recorded for a task whose record is not in the journal.
func TestResultWaitsForTaskCommit(t *testing.T) {
	var l liveTasks
	never := func(funcx.TaskID) bool { return false }
	okTasks, badTasks := newTasks(3), newTasks(2)
	okCommit, badCommit := doneWait(), doneWait()
	l.admit(okTasks, okCommit, never)
	l.admit(badTasks, badCommit, never)
	recovered := newTasks(1) // re-run from the journal: not live

	var committed atomic.Bool
	got := make(chan []funcx.Result)
	go func() {
		rs := append(resultsOf(okTasks), resultsOf(badTasks)...)
		rs = append(rs, resultsOf(recovered)...)
		rs = l.awaitJournaled(rs)
		if !committed.Load() {
			t.Error("awaitJournaled returned before the commits were over")
		}
		got <- rs
	}()
	committed.Store(true)
	okCommit.err = nil
	close(okCommit.done)
	badCommit.err = errors.New("disk full")
	close(badCommit.done)
	rs := <-got
	want := ids(append(resultsOf(okTasks), resultsOf(recovered)...))
	if len(rs) != len(want) {
		t.Fatalf("kept %d results, want %d (those of committed or recovered tasks)", len(rs), len(want))
	}
	for _, r := range rs {
		if !want[r.TaskID] {
			t.Fatalf("kept the result of task %s whose commit failed", r.TaskID)
		}
	}
	if fresh := l.admit(badTasks, doneWait(), never); len(fresh) != len(badTasks) {
		t.Fatalf("redelivery of tasks whose commit failed: %d fresh, want %d", len(fresh), len(badTasks))
	}
	if fresh := l.admit(okTasks, doneWait(), never); len(fresh) != 0 {
		t.Fatal("tasks whose result is not yet journaled admitted again")
	}
}

// fakeDelivery records how it was settled, and what the journal held
// at the time.
type fakeDelivery struct {
	mu             sync.Mutex
	acked, nacked  int
	journaledAtAck bool
	tasks          []funcx.Task
}

func (f *fakeDelivery) delivery(j *journal.Journal) broker.Delivery {
	return broker.Delivery{
		Tasks: f.tasks,
		Ack: func() error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.acked++
			f.journaledAtAck = true
			for _, task := range f.tasks {
				f.journaledAtAck = f.journaledAtAck && j.Known(task.ID)
			}
			return nil
		},
		Nack: func() error { f.mu.Lock(); f.nacked++; f.mu.Unlock(); return nil },
	}
}

// The journaler acks a delivery only once its tasks are journaled; its
// results then record (a result committed before its task's record
// would be dropped as an orphan). A crash before the commit (the journal
// gone) leaves the delivery unacked and its results unrecorded.
func TestJournalerAcksAfterCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{j: j, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	jr := newJournaler(r)
	deliveries := make([]*fakeDelivery, 5)
	var all []funcx.Task
	for i := range deliveries {
		f := &fakeDelivery{tasks: newTasks(3)}
		deliveries[i] = f
		all = append(all, f.tasks...)
		c := doneWait()
		if fresh := r.live.admit(f.tasks, c, j.Known); len(fresh) != 3 {
			t.Fatalf("delivery %d: %d fresh tasks, want 3", i, len(fresh))
		}
		jr.add(f.delivery(j), c)
	}
	// The results arrive at once, as if the tasks ran during the commit.
	rs := r.live.awaitJournaled(resultsOf(all))
	stored, err := j.AddResults(ctx, rs)
	if err != nil || stored != len(all) {
		t.Fatalf("recorded %d results (err %v), want all %d: a result was recorded before its task", stored, err, len(all))
	}
	r.live.forget(rs)
	jr.stop()
	for i, f := range deliveries {
		if f.acked != 1 || f.nacked != 0 || !f.journaledAtAck {
			t.Fatalf("delivery %d: acked %d, nacked %d, journaled at ack %v; want acked once after its commit", i, f.acked, f.nacked, f.journaledAtAck)
		}
	}

	// Crash point: the journal is gone before the commit.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	jr = newJournaler(r)
	f := &fakeDelivery{tasks: newTasks(2)}
	c := doneWait()
	r.live.admit(f.tasks, c, func(funcx.TaskID) bool { return false })
	jr.add(f.delivery(j), c)
	<-jr.failed
	jr.stop()
	if f.acked != 0 || f.nacked != 1 {
		t.Fatalf("uncommitted delivery: acked %d, nacked %d; want only a nack", f.acked, f.nacked)
	}
	if rs := r.live.awaitJournaled(resultsOf(f.tasks)); len(rs) != 0 {
		t.Fatalf("%d results of uncommitted tasks would be published", len(rs))
	}

	// After the restart the journal holds the first tasks, not the
	// uncommitted ones.
	j, err = journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	out, err := j.Outbox(0)
	if err != nil || len(out) != len(all) {
		t.Fatalf("outbox after restart: %d results (err %v), want %d", len(out), err, len(all))
	}
	for _, task := range f.tasks {
		if j.Known(task.ID) {
			t.Fatalf("uncommitted task %s in the journal", task.ID)
		}
	}
}

// The journaler records the tasks whose results the broker confirmed in
// the commit of the next delivery's tasks, so that a steady stream of
// tasks costs one journal commit (two fsyncs) per delivery and nothing
// more; the publisher's own Confirm is left for a link with no new
// tasks. Before, they waited for that Confirm, a commit of its own.
func TestJournalerRecordsConfirmedResultsWithTheNextTasks(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := &runner{j: j, log: slog.New(slog.DiscardHandler)}
	jr := newJournaler(r)
	defer jr.stop()
	deliver := func(tasks []funcx.Task) *fakeDelivery {
		f := &fakeDelivery{tasks: tasks}
		c := doneWait()
		r.live.admit(tasks, c, j.Known)
		jr.add(f.delivery(j), c)
		<-c.done
		if c.err != nil {
			t.Fatal(c.err)
		}
		return f
	}
	first := newTasks(3)
	deliver(first)
	// The first tasks ran, and the broker confirmed their results.
	results := r.live.awaitJournaled(resultsOf(first))
	ids := make([]funcx.TaskID, len(results))
	for i := range results {
		ids[i] = results[i].TaskID
	}
	r.sent.start(ids)
	r.sent.finish(ids, true)
	r.live.forget(results)

	before := j.Stats()
	next := newTasks(2)
	deliver(next)
	s := j.Stats()
	if s.Commits != before.Commits+1 || s.Done != 3 || s.Tasks != 2 || s.Outbox != 0 {
		t.Fatalf("after the next delivery: %+v, want 1 more commit, the 3 confirmed tasks done, the 2 new ones journaled", s)
	}
	if left := r.sent.takeConfirmed(); len(left) != 0 {
		t.Fatalf("%d confirmed IDs still waiting for the publisher's Confirm", len(left))
	}
}
