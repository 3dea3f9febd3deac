package journal

import (
	"context"
	"sync"
	"testing"
)

// Known answers for each place a task can be in the journal, and is
// true once AddTasks has returned, also while other commits run.
func TestKnown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, path := setup(t, Options{})
	tasks := sampleTasks(4)
	for _, task := range tasks {
		if j.Known(task.ID) {
			t.Fatalf("task %s known before it was added", task.ID)
		}
	}
	mustAddTasks(t, j, tasks)
	mustAddResults(t, j, resultsFor(tasks[1:3]))         // 1, 2 in the outbox
	mustConfirm(t, j, resultIDs(resultsFor(tasks[2:3]))) // 2 done
	for i, task := range tasks {
		if !j.Known(task.ID) {
			t.Fatalf("task %d (pending, outbox, done, pending) not known", i)
		}
	}
	if j.Known(sampleTasks(1)[0].ID) {
		t.Fatal("a task never added is known")
	}

	// Readers and the committer at once: for the race detector, and
	// Known never misses a task whose AddTasks returned.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				for _, task := range tasks {
					if !j.Known(task.ID) {
						t.Errorf("task %s forgotten during other commits", task.ID)
						return
					}
				}
			}
		}
	}()
	for range 20 {
		more := sampleTasks(10)
		if _, err := j.AddTasks(ctx, more); err != nil {
			t.Fatal(err)
		}
		for _, task := range more {
			if !j.Known(task.ID) {
				t.Fatalf("task %s not known after AddTasks returned", task.ID)
			}
		}
	}
	close(stop)
	wg.Wait()

	// The index rebuilt on open answers the same.
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2 := openAt(t, path, Options{})
	for i, task := range tasks {
		if !j2.Known(task.ID) {
			t.Fatalf("task %d not known after reopening", i)
		}
	}
}
