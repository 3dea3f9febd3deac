package journal

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	j, _ := setup(t, Options{})
	tasks := sampleTasks(10)

	if fresh := mustAddTasks(t, j, tasks); !reflect.DeepEqual(fresh, tasks) {
		t.Fatalf("fresh = %d tasks, want all %d", len(fresh), len(tasks))
	}
	if got := mustPending(t, j); !reflect.DeepEqual(got, tasks) {
		t.Fatalf("pending tasks differ from those added:\n got %+v\nwant %+v", got[0], tasks[0])
	}

	results := resultsFor(tasks[:4])
	results[1].State = funcx.StateFailed
	results[1].Error = &funcx.TaskError{Kind: funcx.WorkerLost, Message: "killed", Stack: "main.go:1"}
	if n := mustAddResults(t, j, results); n != 4 {
		t.Fatalf("stored %d results, want 4", n)
	}
	if got := mustOutbox(t, j); !reflect.DeepEqual(got, results) {
		t.Fatalf("outbox differs from results added:\n got %+v\nwant %+v", got, results)
	}
	if got := mustPending(t, j); !reflect.DeepEqual(got, tasks[4:]) {
		t.Fatalf("pending = %d tasks, want the 6 without a result", len(got))
	}

	mustConfirm(t, j, resultIDs(results))
	if got := mustOutbox(t, j); len(got) != 0 {
		t.Fatalf("outbox holds %d results after confirm", len(got))
	}
	s := j.Stats()
	if s.Tasks != 6 || s.Outbox != 0 || s.Done != 4 || s.Commits != 3 || s.Calls != 3 || s.Records != 18 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("task re-added", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(5)
		mustAddTasks(t, j, tasks[:3])
		fresh := mustAddTasks(t, j, tasks)
		if !sameIDs(taskIDs(fresh), taskIDs(tasks[3:])) {
			t.Fatalf("fresh = %v, want only the 2 new tasks", taskIDs(fresh))
		}
		if got := mustPending(t, j); len(got) != 5 {
			t.Fatalf("%d pending tasks, want 5", len(got))
		}
		if d := j.Stats().Duplicates; d != 3 {
			t.Fatalf("Duplicates = %d, want 3", d)
		}
	})

	t.Run("duplicate within one call", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(2)
		fresh := mustAddTasks(t, j, []funcx.Task{tasks[0], tasks[1], tasks[0]})
		if !sameIDs(taskIDs(fresh), taskIDs(tasks)) {
			t.Fatalf("fresh = %v", taskIDs(fresh))
		}
	})

	t.Run("redelivery while the result is in the outbox", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(1)
		mustAddTasks(t, j, tasks)
		mustAddResults(t, j, resultsFor(tasks))
		if fresh := mustAddTasks(t, j, tasks); len(fresh) != 0 {
			t.Fatal("a task whose result is in the outbox was journaled again")
		}
		if got := mustPending(t, j); len(got) != 0 {
			t.Fatalf("%d pending tasks, want 0", len(got))
		}
	})

	t.Run("redelivery after confirm", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(3)
		mustAddTasks(t, j, tasks)
		mustAddResults(t, j, resultsFor(tasks))
		mustConfirm(t, j, taskIDs(tasks))
		if fresh := mustAddTasks(t, j, tasks); len(fresh) != 0 {
			t.Fatal("a confirmed task was journaled again")
		}
	})

	t.Run("result re-added", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(2)
		mustAddTasks(t, j, tasks)
		results := resultsFor(tasks)
		if n := mustAddResults(t, j, results[:1]); n != 1 {
			t.Fatalf("stored %d, want 1", n)
		}
		second := resultsFor(tasks)
		second[0].State = funcx.StateFailed // a later, different result must not replace the first
		if n := mustAddResults(t, j, second); n != 1 {
			t.Fatalf("stored %d, want 1 (only the second task's)", n)
		}
		got := mustOutbox(t, j)
		if len(got) != 2 || got[0].State != funcx.StateSuccess {
			t.Fatalf("outbox = %+v, want the first result of each task", got)
		}
		if o := j.Stats().Orphans; o != 1 {
			t.Fatalf("Orphans = %d, want 1", o)
		}
	})

	t.Run("result of an unknown task", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		if n := mustAddResults(t, j, resultsFor(sampleTasks(2))); n != 0 {
			t.Fatalf("stored %d results of unknown tasks", n)
		}
		if got := mustOutbox(t, j); len(got) != 0 {
			t.Fatalf("outbox holds %d", len(got))
		}
	})

	t.Run("context already done", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := j.AddTasks(cctx, sampleTasks(1)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if got := mustPending(t, j); len(got) != 0 {
			t.Fatal("a task was journaled by a cancelled call")
		}
	})
}

// Many concurrent results for the same tasks: exactly one per task is
// recorded.
func TestExactlyOneResult(t *testing.T) {
	t.Parallel()
	j, _ := setup(t, Options{})
	tasks := sampleTasks(50)
	mustAddTasks(t, j, tasks)
	var stored atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			results := resultsFor(tasks)
			for i := range results {
				results[i].Worker = w
			}
			n, err := j.AddResults(context.Background(), results)
			if err != nil {
				t.Error(err)
			}
			stored.Add(int64(n))
		})
	}
	wg.Wait()
	if stored.Load() != 50 {
		t.Fatalf("stored %d results in all, want 50", stored.Load())
	}
	got := mustOutbox(t, j)
	if len(got) != 50 {
		t.Fatalf("outbox holds %d results, want 50", len(got))
	}
	seen := map[funcx.TaskID]bool{}
	for _, r := range got {
		if seen[r.TaskID] {
			t.Fatalf("two results for task %s", r.TaskID)
		}
		seen[r.TaskID] = true
	}
	if s := j.Stats(); s.Orphans != 15*50 || s.Tasks != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()

	t.Run("order is the order results were recorded", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(9)
		mustAddTasks(t, j, tasks)
		// Results arrive in an order unrelated to the tasks'.
		order := []int{7, 2, 5, 0, 8, 1, 6, 3, 4}
		var want []funcx.TaskID
		for i := 0; i < len(order); i += 3 {
			var batch []funcx.Task
			for _, k := range order[i : i+3] {
				batch = append(batch, tasks[k])
				want = append(want, tasks[k].ID)
			}
			mustAddResults(t, j, resultsFor(batch))
		}
		if got := resultIDs(mustOutbox(t, j)); !sameIDs(got, want) {
			t.Fatalf("outbox order = %v, want %v", got, want)
		}
		first, err := j.Outbox(4)
		if err != nil || !sameIDs(resultIDs(first), want[:4]) {
			t.Fatalf("Outbox(4) = %v, %v; want the 4 oldest", resultIDs(first), err)
		}
	})

	t.Run("confirm removes only the confirmed", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		tasks := sampleTasks(6)
		mustAddTasks(t, j, tasks)
		mustAddResults(t, j, resultsFor(tasks))
		// Confirm a subset plus an ID the journal does not hold (a task
		// whose result was confirmed before it was journaled): it is done
		// too, once, however often it is confirmed.
		other := funcx.NewTaskID()
		mustConfirm(t, j, []funcx.TaskID{tasks[1].ID, tasks[4].ID, other})
		mustConfirm(t, j, []funcx.TaskID{tasks[1].ID, other})
		want := taskIDs([]funcx.Task{tasks[0], tasks[2], tasks[3], tasks[5]})
		if got := resultIDs(mustOutbox(t, j)); !sameIDs(got, want) {
			t.Fatalf("outbox = %v, want %v", got, want)
		}
		if s := j.Stats(); s.Outbox != 4 || s.Done != 3 {
			t.Fatalf("stats = %+v, want 4 in the outbox, 3 done", s)
		}
		if !j.Known(other) {
			t.Fatal("a confirmed task the journal never held is not known: its redelivery would run")
		}
	})

	// The endpoint skips the outbox for a result the broker confirmed
	// before it was recorded: Confirm then takes the task straight from
	// the task table to the recently-done set, in one commit. Before,
	// Confirm ignored a task without a recorded result, so the task stayed
	// pending and would have run again at every start.
	t.Run("confirm of a result never recorded finishes its task", func(t *testing.T) {
		t.Parallel()
		j, path := setup(t, Options{})
		tasks := sampleTasks(4)
		mustAddTasks(t, j, tasks)
		before := j.Stats().Commits
		mustConfirm(t, j, taskIDs(tasks[:3]))
		s := j.Stats()
		if s.Tasks != 1 || s.Outbox != 0 || s.Done != 3 || s.Commits != before+1 {
			t.Fatalf("after confirming 3 of 4 pending tasks: %+v, want 1 task, 0 in the outbox, 3 done, in 1 commit", s)
		}
		// A late result of a finished task is an orphan, and a
		// redelivery is known: the task never runs or records twice.
		if n := mustAddResults(t, j, resultsFor(tasks[:1])); n != 0 {
			t.Fatalf("a result of a confirmed task was recorded (%d)", n)
		}
		if fresh := mustAddTasks(t, j, tasks[:3]); len(fresh) != 0 {
			t.Fatalf("redelivered confirmed tasks are fresh: %v", taskIDs(fresh))
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		j = openAt(t, path, Options{})
		if got := taskIDs(mustPending(t, j)); !sameIDs(got, taskIDs(tasks[3:])) {
			t.Fatalf("after reopening, pending = %v, want only the unconfirmed task", got)
		}
		if s := j.Stats(); s.Done != 3 || s.Outbox != 0 {
			t.Fatalf("after reopening: %+v", s)
		}
	})

	// The endpoint records the tasks whose results the broker confirmed
	// with the next delivery's tasks: one commit for both.
	t.Run("tasks and confirms share a commit", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		first, next := sampleTasks(3), sampleTasks(2)
		mustAddTasks(t, j, first)
		before := j.Stats().Commits
		fresh, err := j.AddTasksConfirming(context.Background(), next, taskIDs(first[:2]))
		if err != nil || len(fresh) != 2 {
			t.Fatalf("AddTasksConfirming: %d fresh, %v", len(fresh), err)
		}
		if s := j.Stats(); s.Commits != before+1 || s.Tasks != 3 || s.Done != 2 {
			t.Fatalf("%+v, want 1 commit, 3 tasks (first[2] and the 2 new), 2 done", s)
		}
		// No tasks: a Confirm.
		if _, err := j.AddTasksConfirming(context.Background(), nil, taskIDs(first[2:])); err != nil {
			t.Fatal(err)
		}
		if s := j.Stats(); s.Tasks != 2 || s.Done != 3 {
			t.Fatalf("%+v, want 2 tasks, 3 done", s)
		}
	})
}

func TestDoneSet(t *testing.T) {
	t.Parallel()

	t.Run("forgets beyond DoneLimit", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{DoneLimit: 3})
		tasks := sampleTasks(5)
		mustAddTasks(t, j, tasks)
		mustAddResults(t, j, resultsFor(tasks))
		for _, id := range taskIDs(tasks) { // one at a time: confirmation order
			mustConfirm(t, j, []funcx.TaskID{id})
		}
		if d := j.Stats().Done; d != 3 {
			t.Fatalf("Done = %d, want 3", d)
		}
		fresh := mustAddTasks(t, j, tasks)
		if !sameIDs(taskIDs(fresh), taskIDs(tasks[:2])) {
			t.Fatalf("fresh = %v, want the 2 oldest confirmed tasks, which were forgotten", taskIDs(fresh))
		}
	})

	t.Run("forgets after DoneTTL, also across a reopen", func(t *testing.T) {
		t.Parallel()
		var now atomic.Int64
		now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		opts := Options{DoneTTL: time.Hour, Clock: func() time.Time { return time.Unix(0, now.Load()) }}
		j, path := setup(t, opts)
		old, recent := sampleTasks(2), sampleTasks(2)
		mustAddTasks(t, j, append(old, recent...))
		mustAddResults(t, j, resultsFor(append(old, recent...)))
		mustConfirm(t, j, taskIDs(old))
		now.Add(int64(40 * time.Minute))
		mustConfirm(t, j, taskIDs(recent))
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		now.Add(int64(30 * time.Minute)) // old: 70 min, recent: 30 min
		j = openAt(t, path, opts)
		if d := j.Stats().Done; d != 2 {
			t.Fatalf("Done = %d after reopen, want 2", d)
		}
		fresh := mustAddTasks(t, j, append(old, recent...))
		if !sameIDs(taskIDs(fresh), taskIDs(old)) {
			t.Fatalf("fresh = %v, want the tasks confirmed over an hour ago", taskIDs(fresh))
		}
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	j, path := setup(t, Options{})
	tasks := sampleTasks(30)
	mustAddTasks(t, j, tasks)
	mustAddResults(t, j, resultsFor(tasks[:20]))
	mustConfirm(t, j, taskIDs(tasks[:10]))
	wantPending, wantOutbox := mustPending(t, j), mustOutbox(t, j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openAt(t, path, Options{})
	if got := mustPending(t, j); !reflect.DeepEqual(got, wantPending) {
		t.Fatalf("pending after reopen: %d tasks, want %d", len(got), len(wantPending))
	}
	if got := mustOutbox(t, j); !reflect.DeepEqual(got, wantOutbox) {
		t.Fatalf("outbox after reopen: %d results, want %d", len(got), len(wantOutbox))
	}
	if s := j.Stats(); s.Tasks != 10 || s.Outbox != 10 || s.Done != 10 {
		t.Fatalf("stats after reopen = %+v", s)
	}
	if fresh := mustAddTasks(t, j, tasks); len(fresh) != 0 {
		t.Fatalf("%d known tasks were journaled again after reopen", len(fresh))
	}
	// New records follow the old ones.
	later := sampleTasks(2)
	mustAddTasks(t, j, later)
	got := mustPending(t, j)
	if !sameIDs(taskIDs(got[len(got)-2:]), taskIDs(later)) {
		t.Fatal("tasks added after reopen are not last in pending order")
	}
	mustAddResults(t, j, resultsFor(later[:1]))
	out := mustOutbox(t, j)
	if out[len(out)-1].TaskID != later[0].ID {
		t.Fatal("result added after reopen is not last in the outbox")
	}
}

// Concurrent callers share commits, and every call is answered.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	j, _ := setup(t, Options{FlushInterval: 5 * time.Millisecond})
	const callers, batches = 16, 10
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range batches {
				if fresh, err := j.AddTasks(context.Background(), sampleTasks(8)); err != nil || len(fresh) != 8 {
					t.Errorf("add tasks: %d fresh, %v", len(fresh), err)
				}
			}
		})
	}
	wg.Wait()
	s := j.Stats()
	if s.Tasks != callers*batches*8 || s.Calls != callers*batches {
		t.Fatalf("stats = %+v", s)
	}
	if s.Commits >= s.Calls/2 {
		t.Fatalf("%d commits for %d concurrent calls: group commit is not grouping", s.Commits, s.Calls)
	}
	t.Logf("%d calls in %d commits, %.1f records per commit", s.Calls, s.Commits, s.AvgBatch)
}

// MaxBatch bounds a commit; a call larger than it still commits whole.
func TestMaxBatch(t *testing.T) {
	t.Parallel()
	j, _ := setup(t, Options{MaxBatch: 4})
	if fresh := mustAddTasks(t, j, sampleTasks(10)); len(fresh) != 10 {
		t.Fatalf("%d fresh, want 10", len(fresh))
	}
	if s := j.Stats(); s.Commits != 1 || s.Tasks != 10 {
		t.Fatalf("stats = %+v", s)
	}
}

// Close commits what is queued: a call either succeeds (and its tasks are
// durable) or fails with ErrClosed; none hangs.
func TestCloseFlushes(t *testing.T) {
	t.Parallel()
	j, path := setup(t, Options{FlushInterval: 2 * time.Millisecond})
	var (
		mu    sync.Mutex
		added []funcx.TaskID
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				tasks := sampleTasks(4)
				_, err := j.AddTasks(context.Background(), tasks)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				added = append(added, taskIDs(tasks)...)
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	j = openAt(t, path, Options{})
	have := map[funcx.TaskID]bool{}
	for _, task := range mustPending(t, j) {
		have[task.ID] = true
	}
	for _, id := range added {
		if !have[id] {
			t.Fatalf("task %s was reported durable before Close but is missing", id)
		}
	}
	if len(added) == 0 {
		t.Fatal("no call succeeded before Close")
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	j, _ := setup(t, Options{})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := j.AddTasks(ctx, sampleTasks(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("AddTasks: %v", err)
	}
	if _, err := j.AddResults(ctx, resultsFor(sampleTasks(1))); !errors.Is(err, ErrClosed) {
		t.Errorf("AddResults: %v", err)
	}
	if err := j.Confirm(ctx, []funcx.TaskID{funcx.NewTaskID()}); !errors.Is(err, ErrClosed) {
		t.Errorf("Confirm: %v", err)
	}
	if _, err := j.PendingTasks(); !errors.Is(err, ErrClosed) {
		t.Errorf("PendingTasks: %v", err)
	}
	if _, err := j.Outbox(0); !errors.Is(err, ErrClosed) {
		t.Errorf("Outbox: %v", err)
	}
}

// After a failed commit the journal refuses writes: it cannot know what
// reached the disk.
func TestCommitFailure(t *testing.T) {
	t.Parallel()
	j, path := setup(t, Options{})
	mustAddTasks(t, j, sampleTasks(2))
	_ = j.db.Close() // the next transaction cannot begin
	for range 2 {
		if _, err := j.AddTasks(context.Background(), sampleTasks(1)); !errors.Is(err, ErrFailed) {
			t.Fatalf("err = %v, want ErrFailed", err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openAt(t, path, Options{})
	if got := mustPending(t, j); len(got) != 2 {
		t.Fatalf("%d pending after reopen, want the 2 committed", len(got))
	}
}
