package manager_test

import (
	"context"
	"errors"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/manager"
)

// Tasks queued in a worker behind a long task are handed back to an idle
// worker rather than wait for it.
func TestTasksQueuedBehindALongTaskAreReclaimed(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *manager.Config) { c.MaxWorkers, c.Prefetch = 2, 4 })
	// Submitted before the manager starts, all six come in its first
	// batch: the first worker ready takes the long task and queues the
	// next four behind it; the second gets the last.
	long := shell("sleep 60")
	quick := []funcx.Task{shell("echo 1"), shell("echo 2"), shell("echo 3"), shell("echo 4"), shell("echo 5")}
	if err := b.ix.Submit(append([]funcx.Task{long}, quick...)...); err != nil {
		t.Fatal(err)
	}
	start(t, context.Background(), b.cfg)
	got := collect(t, b.ix, len(quick)) // the long task is still running
	for i, q := range quick {
		r, ok := got[q.ID]
		if !ok || r.State != funcx.StateSuccess || string(r.Stdout) != string(rune('1'+i))+"\n" {
			t.Fatalf("quick task %d: %+v (present %v)", i+1, r, ok)
		}
	}
	if _, ok := got[long.ID]; ok {
		t.Fatal("the long task finished early")
	}
}

// When a worker dies, only the task it ran fails; the tasks queued behind
// it never started and run on its replacement.
func TestTasksQueuedBehindALostWorkerAreRequeued(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *manager.Config) { c.MaxWorkers, c.Prefetch = 1, 3 })
	victim := shell("kill -9 $PPID; sleep 5") // kills the worker running it
	queued := []funcx.Task{shell("echo a"), shell("echo b"), shell("echo c")}
	if err := b.ix.Submit(append([]funcx.Task{victim}, queued...)...); err != nil {
		t.Fatal(err)
	}
	start(t, context.Background(), b.cfg)
	got := collect(t, b.ix, 1+len(queued))
	if r := got[victim.ID]; !errors.Is(r.Err(), funcx.ErrWorkerLost) {
		t.Fatalf("victim: %+v, want WorkerLost", r)
	}
	for _, q := range queued {
		if r := got[q.ID]; r.State != funcx.StateSuccess || r.Attempt != q.Attempt {
			t.Fatalf("queued task %s: %+v, want success on its first attempt", q.ID, r)
		}
	}
}
