package endpoint

import (
	"context"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
)

// replay re-runs the tasks the previous run journaled without a result.
// One bad record must not keep the endpoint from starting, nor the other
// tasks from running: the journal moves a record it cannot decode to its
// quarantine table and fails its task itself (PendingTasks), and a task
// that decodes but that the engine would refuse (the record is damaged,
// or was written by a build with other rules) fails alone here, its
// record quarantined too. Those failures wait in the outbox and are
// published like any result, so nobody waits for them forever.
func (r *runner) replay(ctx context.Context) error {
	pending, err := r.j.PendingTasks()
	if err != nil {
		return fmt.Errorf("endpoint: read journal: %w", err)
	}
	runnable, failures := splitRunnable(pending, func(err error) string {
		return fmt.Sprintf("the endpoint's journal record of this task holds a task that cannot run (%v): the record is corrupt, "+
			"or from another version; the task was not run, and the record was moved to the journal's quarantine table", err)
	})
	if len(failures) > 0 {
		if err := r.j.QuarantineTasks(ctx, failures); err != nil {
			return fmt.Errorf("endpoint: %w", err)
		}
	}
	if len(runnable) > 0 {
		r.log.Info("re-running tasks journaled by the previous run", "tasks", len(runnable))
		if err := r.eng.Submit(runnable...); err != nil {
			return err
		}
	}
	return nil
}

// splitRunnable checks each task as Engine.Submit would, task by task
// rather than for the batch, so that one bad task fails alone: those the
// engine would refuse come back as InvalidTask results whose message
// explain writes.
func splitRunnable(tasks []funcx.Task, explain func(error) string) (runnable []funcx.Task, failures []funcx.Result) {
	runnable = tasks[:0:0]
	now := time.Now()
	for i := range tasks {
		if err := tasks[i].Function.Validate(); err != nil {
			failures = append(failures, funcx.FailedResult(&tasks[i], funcx.Errorf(funcx.InvalidTask, "%s", explain(err)), now))
			continue
		}
		runnable = append(runnable, tasks[i])
	}
	return runnable, failures
}
