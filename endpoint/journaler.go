package endpoint

import (
	"context"
	"sync"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// A task runs while its journal commit is under way rather than after
// it: the commit (two fsyncs) and the task overlap, and a task's result
// is a commit sooner. What still waits for the commit:
//
//   - the ack: a delivery is acked only once its tasks are durable, so a
//     crash before the commit has the broker deliver them again;
//   - the task's result in the outbox: it is not written there before
//     the task's record has committed (liveTasks.awaitJournaled), so a
//     recorded result always has its task's record before it in the
//     journal. The result is published to the broker at once, though.
//
// Running a task, or publishing its result, before its commit can only
// run it once more after a crash; execution is at least once anyway and
// the service keeps the first result it gets.

// commitWait is one journal commit of a delivery's tasks.
type commitWait struct {
	done chan struct{} // closed once the commit is over
	err  error         // the commit's error; read after done
}

// liveTasks holds the tasks taken from the broker whose results are not
// yet journaled, each with the commit that journals it. Together with
// the journal's Known it says whether a delivered task is new: a task is
// live from before its commit until its result is journaled, and known
// to the journal from the commit on, so a redelivery never runs a task
// a second time while it runs.
type liveTasks struct {
	mu sync.Mutex
	m  map[funcx.TaskID]*commitWait
}

// admit returns the tasks that are new (neither live nor known to the
// journal), in order, and makes them live, journaled by c.
func (l *liveTasks) admit(tasks []funcx.Task, c *commitWait, known func(funcx.TaskID) bool) []funcx.Task {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[funcx.TaskID]*commitWait)
	}
	var fresh []funcx.Task
	for i := range tasks {
		id := tasks[i].ID
		if _, ok := l.m[id]; ok {
			continue
		}
		// Checked after the live set: forget removes a task only once
		// the journal holds its result.
		if known(id) {
			continue
		}
		l.m[id] = c
		fresh = append(fresh, tasks[i])
	}
	return fresh
}

// awaitJournaled waits until the tasks of results are journaled and
// returns results, in place, without those whose commit failed: such a
// task was not acked, so the broker delivers it again, and it stops
// being live so that the redelivery runs it. Results of tasks that are
// not live (re-run from the journal after a restart) do not wait.
func (l *liveTasks) awaitJournaled(results []funcx.Result) []funcx.Result {
	waits := make([]*commitWait, len(results))
	l.mu.Lock()
	for i := range results {
		waits[i] = l.m[results[i].TaskID]
	}
	l.mu.Unlock()
	failed := false
	var last *commitWait
	for _, c := range waits {
		if c != nil && c != last {
			<-c.done
			last = c
			failed = failed || c.err != nil
		}
	}
	if !failed {
		return results
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := results[:0]
	for i := range results {
		if c := waits[i]; c != nil && c.err != nil {
			delete(l.m, results[i].TaskID)
			continue
		}
		kept = append(kept, results[i])
	}
	return kept
}

// forget ends the life of the tasks of results, which are journaled.
func (l *liveTasks) forget(results []funcx.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range results {
		delete(l.m, results[i].TaskID)
	}
}

// journaler journals the deliveries of one broker connection in the
// order they came, each queue of them in one AddTasks call (one commit),
// and acks each once its tasks are durable.
type journaler struct {
	r      *runner
	mu     sync.Mutex
	queue  []journaling
	wake   chan struct{} // a delivery was queued
	quit   chan struct{} // stop once the queue is empty
	done   chan struct{} // the loop has returned
	failed chan struct{} // closed when a commit failed: drop the connection
}

type journaling struct {
	d broker.Delivery
	c *commitWait
}

func newJournaler(r *runner) *journaler {
	jr := &journaler{r: r, wake: make(chan struct{}, 1), quit: make(chan struct{}),
		done: make(chan struct{}), failed: make(chan struct{})}
	go jr.loop()
	return jr
}

func (jr *journaler) add(d broker.Delivery, c *commitWait) {
	jr.mu.Lock()
	jr.queue = append(jr.queue, journaling{d, c})
	jr.mu.Unlock()
	select {
	case jr.wake <- struct{}{}:
	default:
	}
}

// stop journals and settles what is queued, then stops the loop.
func (jr *journaler) stop() {
	close(jr.quit)
	<-jr.done
}

func (jr *journaler) loop() {
	defer close(jr.done)
	var batch []journaling
	for {
		jr.mu.Lock()
		batch, jr.queue = jr.queue, batch[:0]
		jr.mu.Unlock()
		if len(batch) > 0 {
			jr.commit(batch)
			clear(batch)
			continue
		}
		select {
		case <-jr.wake:
		case <-jr.quit:
			jr.mu.Lock()
			n := len(jr.queue)
			jr.mu.Unlock()
			if n == 0 {
				return
			}
		}
	}
}

// commit journals a batch of deliveries and settles them: acked if the
// commit succeeded, returned to the queue if not.
func (jr *journaler) commit(batch []journaling) {
	var tasks []funcx.Task
	if len(batch) == 1 {
		tasks = batch[0].d.Tasks
	} else {
		for _, q := range batch {
			tasks = append(tasks, q.d.Tasks...)
		}
	}
	// The results the broker confirmed since the last commit are
	// recorded as done in this one, rather than in a commit of their own
	// (the publisher's Confirm, every confirmEvery, is for a quiet link).
	confirmed := jr.r.sent.takeConfirmed()
	// Not the link's context: a stop lets the commit of tasks already
	// running finish, so that their results can go out.
	_, err := jr.r.j.AddTasksConfirming(context.Background(), tasks, confirmed)
	if err == nil {
		jr.r.sent.confirmDone(confirmed)
	}
	for _, q := range batch {
		q.c.err = err
		close(q.c.done)
	}
	if err != nil {
		jr.r.log.Error("journaling tasks failed; the broker will redeliver them", "tasks", len(tasks), "err", err)
		for _, q := range batch {
			_ = q.d.Nack()
		}
		select {
		case <-jr.failed:
		default:
			close(jr.failed)
		}
		return
	}
	for _, q := range batch {
		if err := q.d.Ack(); err != nil {
			// Journaled already: a redelivery is recognised as a duplicate.
			jr.r.log.Warn("ack failed after journaling; a redelivery will be ignored", "err", err)
		}
	}
}
