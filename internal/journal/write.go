package journal

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// AddTasks journals tasks and returns once they are durable (fsync'd).
// Concurrent calls share one transaction and one fsync.
//
// fresh holds, in order, the tasks that were new. A task whose ID is
// already journaled, has a result in the outbox, or is in the
// recently-done set is a redelivery: it is dropped, and the caller should
// ack it without dispatching it again. Duplicates within tasks are
// dropped the same way.
//
// On error nothing may be assumed durable and the deliveries must not be
// acked. If ctx ends while the commit is under way, AddTasks returns
// ctx.Err() and the tasks may or may not be journaled; a redelivery is
// then recognised as such.
func (j *Journal) AddTasks(ctx context.Context, tasks []funcx.Task) (fresh []funcx.Task, err error) {
	return j.AddTasksConfirming(ctx, tasks, nil)
}

// AddTasksConfirming is AddTasks that also does, in the same transaction
// and after the tasks, what Confirm(ctx, confirmed) does. The endpoint
// records the results the broker confirmed since its last commit with
// the next delivery's tasks: they cost no commit (no fsync) of their own,
// and a crash finds few confirmed tasks still journaled to run again.
func (j *Journal) AddTasksConfirming(ctx context.Context, tasks []funcx.Task, confirmed []funcx.TaskID) (fresh []funcx.Task, err error) {
	if len(tasks) == 0 {
		return nil, j.Confirm(ctx, confirmed)
	}
	ends := make([]int, len(tasks))
	var buf []byte
	for i := range tasks {
		buf = wire.AppendTasks(buf, tasks[i:i+1])
		ends[i] = len(buf)
	}
	r := &request{op: opTasks, tasks: tasks, recs: split(buf, ends), ids: confirmed}
	if err := checkSizes(r.recs); err != nil {
		return nil, fmt.Errorf("journal %d tasks: %w", len(tasks), err)
	}
	if err := j.do(ctx, r); err != nil {
		return nil, fmt.Errorf("journal %d tasks: %w", len(tasks), err)
	}
	return r.fresh, nil
}

// AddResults records results and returns once they are durable. For each
// result, in one transaction, its task leaves the task table and the
// result enters the outbox. A result whose task is not journaled (its
// result is already recorded, or the task is unknown) is dropped and
// counted in Stats.Orphans, so a task has exactly one recorded result.
// stored is the number of results recorded.
func (j *Journal) AddResults(ctx context.Context, results []funcx.Result) (stored int, err error) {
	if len(results) == 0 {
		return 0, nil
	}
	ends := make([]int, len(results))
	var buf []byte
	for i := range results {
		buf = wire.AppendResults(buf, results[i:i+1])
		ends[i] = len(buf)
	}
	r := &request{op: opResults, results: results, recs: split(buf, ends)}
	if err := checkSizes(r.recs); err != nil {
		return 0, fmt.Errorf("journal %d results: %w", len(results), err)
	}
	if err := j.do(ctx, r); err != nil {
		return 0, fmt.Errorf("journal %d results: %w", len(results), err)
	}
	return r.stored, nil
}

// Confirm records tasks whose results the broker has confirmed: each
// leaves the outbox, or the task table if its result was confirmed before
// it was ever recorded (the endpoint then skips the outbox), and its ID
// joins the recently-done set. So does an ID in neither table (a task
// whose result was confirmed before it was journaled, which the endpoint
// then does not journal), so that a redelivery of it is known. It
// returns once the change is durable.
func (j *Journal) Confirm(ctx context.Context, ids []funcx.TaskID) error {
	if len(ids) == 0 {
		return nil
	}
	if err := j.do(ctx, &request{op: opConfirm, ids: ids}); err != nil {
		return fmt.Errorf("confirm %d results: %w", len(ids), err)
	}
	return nil
}

// split cuts buf into the records that end at ends. The records are
// encoded into one buffer first so that a call costs one growing
// allocation rather than one per record.
func split(buf []byte, ends []int) [][]byte {
	recs := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		recs[i] = buf[start:end:end]
		start = end
	}
	return recs
}

// checkSizes refuses records bbolt cannot store here, where only this
// call fails, rather than in the shared commit, which would fail them all.
func checkSizes(recs [][]byte) error {
	for i, rec := range recs {
		if len(rec) > bbolt.MaxValueSize {
			return fmt.Errorf("record %d is %d bytes, over the %d-byte limit", i, len(rec), bbolt.MaxValueSize)
		}
	}
	return nil
}

// do queues r for the committer and waits for its commit.
func (j *Journal) do(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.done = make(chan error, 1)
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return ErrClosed
	}
	select {
	case j.reqs <- r:
	case <-ctx.Done():
		j.mu.RUnlock()
		return ctx.Err()
	}
	j.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
