package endpoint

import (
	"context"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// A task runs while its journal commit is under way rather than after
// it: the commit (two fsyncs) and the task overlap, and a task's result
// is a commit sooner. What still waits for the commit:
//
//   - the ack: a delivery is acked only once each of its tasks is
//     durable, in the journal or as a result the broker confirmed, so a
//     crash before that has the broker deliver them again;
//   - the task's result in the outbox: it is not written there before
//     the task's record has committed (liveTasks.awaitJournaled), so a
//     recorded result always has its task's record before it in the
//     journal. The result is published to the broker at once, though.
//
// Running a task, or publishing its result, before its commit can only
// run it once more after a crash; execution is at least once anyway and
// the service keeps the first result it gets.
//
// The commit waits a little (journalLinger) for the tasks' results: a
// task whose result the broker confirmed meanwhile is not journaled at
// all (confirmedEarly). A short task on a quiet endpoint, the one-task
// round trip, then costs the endpoint no commit and no fsync, whose
// interference with the task's own path was the largest part of what
// the endpoint added to its latency; under load, the deliveries of the
// wait share one commit. Such a task joins the recently-done set like
// any other whose result was confirmed (with the next commit, and known
// from memory until then: runner.knownTask), so a redelivery of it does
// not run again.

// journalLinger is how long a delivery's commit waits for its tasks'
// results. A no-op task's result is confirmed 1 to 3 ms after its
// delivery on a quiet endpoint (the service stores it and acks it, and
// the broker then confirms it); the wait costs a task nothing but a
// later ack (its result goes out at once either way), and under load
// the deliveries of one wait share a commit.
const journalLinger = 5 * time.Millisecond

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
	r *runner
	// linger is how long a delivery may wait for its tasks' results
	// before its commit (0: commit at once).
	linger time.Duration
	timer  *time.Timer // linger's
	mu     sync.Mutex
	queue  []journaling
	wake   chan struct{} // a delivery was queued
	quit   chan struct{} // stop once the queue is empty
	done   chan struct{} // the loop has returned
	failed chan struct{} // closed when a commit failed: drop the connection
}

type journaling struct {
	d  broker.Delivery
	c  *commitWait
	at time.Time // when it was queued
}

func newJournaler(r *runner) *journaler {
	jr := &journaler{r: r, linger: r.journalLinger, wake: make(chan struct{}, 1), quit: make(chan struct{}),
		done: make(chan struct{}), failed: make(chan struct{})}
	go jr.loop()
	return jr
}

func (jr *journaler) add(d broker.Delivery, c *commitWait) {
	jr.mu.Lock()
	jr.queue = append(jr.queue, journaling{d: d, c: c, at: time.Now()})
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
	defer func() {
		if jr.timer != nil {
			jr.timer.Stop()
		}
	}()
	var batch []journaling
	for {
		batch = jr.take(batch)
		if len(batch) > 0 {
			batch = jr.lingerFor(batch)
			jr.commit(batch)
			clear(batch)
			batch = batch[:0]
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

// take appends the queued deliveries to batch.
func (jr *journaler) take(batch []journaling) []journaling {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	batch = append(batch, jr.queue...)
	clear(jr.queue)
	jr.queue = jr.queue[:0]
	return batch
}

// lingerFor holds batch back until the broker has confirmed the results
// of all its tasks, or its oldest delivery has waited jr.linger, or the
// journaler is stopping, and adds the deliveries that come meanwhile.
func (jr *journaler) lingerFor(batch []journaling) []journaling {
	if jr.linger <= 0 {
		return batch
	}
	deadline := batch[0].at.Add(jr.linger)
	for !jr.r.early.all(batch) {
		wait := time.Until(deadline)
		if wait <= 0 {
			return batch
		}
		if jr.timer == nil {
			jr.timer = time.NewTimer(wait)
		} else {
			jr.timer.Reset(wait)
		}
		select {
		case <-jr.quit:
			return batch
		case <-jr.timer.C:
			return batch
		case <-jr.wake:
			batch = jr.take(batch)
		case <-jr.r.early.wake:
		}
	}
	return batch
}

// commit journals a batch of deliveries, but for the tasks whose results
// the broker confirmed, and settles them: acked if the commit succeeded
// (or there was nothing to commit), returned to the queue if not.
func (jr *journaler) commit(batch []journaling) {
	var tasks []funcx.Task
	if len(batch) == 1 {
		tasks = batch[0].d.Tasks
	} else {
		for _, q := range batch {
			tasks = append(tasks, q.d.Tasks...)
		}
	}
	// Tasks whose results the broker confirmed are done with: not
	// journaled (their IDs are recorded done with the other confirmed
	// results).
	tasks = jr.r.early.unconfirmed(tasks)
	var err error
	if len(tasks) > 0 {
		// The results the broker confirmed since the last commit are
		// recorded as done in this one, rather than in a commit of their
		// own (the publisher's Confirm, every confirmEvery, is for a
		// quiet link).
		confirmed := jr.r.sent.takeConfirmed()
		// Not the link's context: a stop lets the commit of tasks
		// already running finish, so that their results can go out.
		_, err = jr.r.j.AddTasksConfirming(context.Background(), tasks, confirmed)
		if err == nil {
			jr.r.sent.confirmDone(confirmed)
		}
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
			// Journaled already, or its result confirmed (see
			// knownTask): a redelivery is recognised as a duplicate.
			jr.r.log.Warn("ack failed after journaling; a redelivery will be ignored", "err", err)
		}
	}
}
