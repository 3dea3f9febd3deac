package endpoint

import (
	"context"

	"github.com/funcx-go/funcx"
)

// The result path. Results leave the engine in two steps that overlap:
//
//  1. resultLoop publishes each batch to the broker at once, without
//     waiting for the journal: a result reaches the service without an
//     fsync on its way. Safe: if the endpoint dies before the result is
//     journaled (or its task's commit fails), the task is still in the
//     journal (or its delivery was not acked), so the task runs again and
//     the service keeps the first result it got.
//  2. recordLoop waits, batch by batch, for the broker's answer to the
//     publish (and for the tasks' own commits, so that the journal never
//     records a result before its task). A result the broker confirmed is
//     not written to the outbox at all: its task moves straight from the
//     task table to the recently-done set in the next delivery's commit
//     (the journaler's AddTasksConfirming), or, on a link with no new
//     tasks, in the publisher's Confirm (every confirmEvery). A task
//     whose result the broker confirmed before its own commit is not
//     journaled at all (confirmedEarly), and joins the recently-done set
//     the same way. Only a result the broker did not take goes to the
//     outbox, for the publisher to send again.
//
// Before, every result was written to the outbox while its publish was
// under way, and removed again once confirmed: a journal commit (two
// fsyncs) per result batch. A task thus costs one commit (the one that
// journals it before its delivery is acked) instead of two; on a quiet
// endpoint, where each task travels alone, that halves the endpoint's
// fsyncs, whose interference is a large part of the one-task latency.
// The price: an endpoint killed after the broker confirmed a result but
// before that result's task was recorded as done runs the task again
// (execution is at least once; the service drops the second result),
// where before it published the result again.
//
// The steps run on their own goroutines so that a commit never holds up
// the publishing of the next results.

// recordQueue bounds the published batches waiting for recordLoop.
const recordQueue = 256

// refusedQueue bounds the batches of refused tasks' failures waiting for
// resultLoop.
const refusedQueue = 16

// maxPublishesInFlight bounds the result publishes awaiting the broker's
// confirm. RabbitMQ confirms persistent messages once they are on disk,
// tens of milliseconds under load: results that come meanwhile wait for
// a slot and go together, in fewer, larger messages (fewer confirms,
// deliveries and store commits per result), while a result that finds a
// slot free (a quiet endpoint) goes at once.
const maxPublishesInFlight = 4

// maxResultsPerCommit bounds the results one journal commit takes.
const maxResultsPerCommit = 8192

// toRecord is a batch of results published (or not: direct is nil when
// no broker connection was up) and waiting to be journaled.
type toRecord struct {
	results []funcx.Result
	// direct waits for the broker's answer to the publish and reports
	// whether the broker confirmed it.
	direct func() (confirmed bool)
	// refused marks failures of tasks the engine never took: they do not
	// count among the engine's results (waitRecorded).
	refused bool
}

// resultLoop publishes the engine's results and hands them to recordLoop,
// which has recorded every one it was handed when resultLoop returns.
func (r *runner) resultLoop(ctx context.Context) {
	queue := make(chan toRecord, recordQueue)
	recorded := make(chan struct{})
	go func() { defer close(recorded); r.recordLoop(queue) }()
	defer func() { close(queue); <-recorded }()
	for {
		select {
		case <-ctx.Done():
			return
		case failures := <-r.refused:
			select {
			case queue <- toRecord{results: failures, direct: r.publishDirect(ctx, failures, nil), refused: true}:
			case <-ctx.Done():
				return // journaled tasks without results: replayed, and failed, at the next start
			}
		case batch, ok := <-r.eng.Results():
			if !ok {
				return
			}
			batch, open := r.gatherResults(batch)
			batch, open, ok = r.awaitPublishSlot(ctx, batch, open)
			if !ok {
				return // not journaled: their tasks run again at the next start
			}
			select {
			case queue <- toRecord{results: batch, direct: r.publishDirect(ctx, batch, r.releasePublishSlot)}:
			case <-ctx.Done():
				return // not journaled: their tasks run again at the next start
			}
			if !open {
				return
			}
		}
	}
}

// recordLoop journals published results until queue is closed and empty.
// It keeps going after the run is cancelled: what it was handed is
// recorded before the journal closes.
func (r *runner) recordLoop(queue <-chan toRecord) {
	ctx := context.Background()
	var items []toRecord
	for first := range queue {
		items = append(items[:0], first)
		n := len(first.results)
	gather: // one commit for every batch already waiting
		for n < maxResultsPerCommit {
			select {
			case more, ok := <-queue:
				if !ok {
					break gather
				}
				items = append(items, more)
				n += len(more.results)
			default:
				break gather
			}
		}
		// A copy: the publishes may still be reading their batches, and
		// awaitJournaled filters in place.
		batch := make([]funcx.Result, 0, n)
		for _, it := range items {
			batch = append(batch, it.results...)
		}
		// A result is recorded (in the outbox, or as done) only once its
		// task is journaled.
		batch = r.live.awaitJournaled(batch)
		if outbox := r.unconfirmed(items, batch); len(outbox) > 0 {
			if _, err := r.j.AddResults(ctx, outbox); err != nil {
				r.log.Error("recording results failed; the tasks stay journaled and will run again", "results", len(outbox), "err", err)
			}
		}
		fromEngine := 0
		for _, it := range items {
			if !it.refused {
				fromEngine += len(it.results)
			}
		}
		r.live.forget(batch)
		r.recorded.Add(uint64(fromEngine))
		r.wakePublisher()
		clear(items)
	}
}

// unconfirmed waits for the broker's answer to each item's publish and
// returns those of the journaled results (the ones awaitJournaled kept)
// whose publish the broker did not confirm: they go to the outbox. A
// publish that was never made (no connection) or that failed marks the
// outbox unsent, for the publisher to read it.
func (r *runner) unconfirmed(items []toRecord, journaled []funcx.Result) []funcx.Result {
	var missed map[funcx.TaskID]struct{}
	for _, it := range items {
		if it.direct != nil && it.direct() {
			continue
		}
		r.unsent.Store(true)
		if missed == nil {
			missed = make(map[funcx.TaskID]struct{}, len(it.results))
		}
		for i := range it.results {
			missed[it.results[i].TaskID] = struct{}{}
		}
	}
	if missed == nil {
		return nil
	}
	out := make([]funcx.Result, 0, len(missed))
	for _, res := range journaled {
		if _, ok := missed[res.TaskID]; ok {
			out = append(out, res)
		}
	}
	return out
}

// gatherResults appends to batch the result batches the engine has
// already produced, so that they travel in one broker message: the
// engine's batches are small (a manager's few results). open is false
// once the engine's results have ended.
func (r *runner) gatherResults(batch []funcx.Result) (_ []funcx.Result, open bool) {
	for len(batch) < maxResultsPerCommit {
		select {
		case more, ok := <-r.eng.Results():
			if !ok {
				return batch, false
			}
			batch = append(batch, more...)
		default:
			return batch, true
		}
	}
	return batch, true
}

// awaitPublishSlot takes one of the maxPublishesInFlight publish slots
// for batch. While every slot is taken it keeps appending the engine's
// results to batch (up to maxResultsPerCommit), so that they travel in
// the next message. ok is false if ctx ended first; open is false once
// the engine's results have ended.
func (r *runner) awaitPublishSlot(ctx context.Context, batch []funcx.Result, open bool) (_ []funcx.Result, stillOpen, ok bool) {
	for {
		results := r.eng.Results()
		if !open || len(batch) >= maxResultsPerCommit {
			results = nil // full: only a slot or the end will do
		}
		select {
		case r.publishSlots <- struct{}{}:
			return batch, open, true
		case more, ok := <-results:
			if !ok {
				open = false
				continue
			}
			batch = append(batch, more...)
		case <-ctx.Done():
			return batch, open, false
		}
	}
}

// releasePublishSlot frees the slot of a publish that has ended.
func (r *runner) releasePublishSlot() { <-r.publishSlots }

// publishDirect starts publishing results before they are journaled,
// if the broker is connected, and returns a wait that ends once the
// broker has answered and says whether it confirmed them; nil if
// nothing was sent. Results the broker confirmed are left for the
// publisher to record as done (Confirm); the others go to the outbox,
// which it publishes again.
// release, if set, is called once the publish has ended (or at once
// when nothing is sent).
func (r *runner) publishDirect(ctx context.Context, results []funcx.Result, release func()) (wait func() (confirmed bool)) {
	if release == nil {
		release = func() {}
	}
	conn := r.conns.current()
	if conn == nil {
		release()
		return nil
	}
	ids := make([]funcx.TaskID, len(results))
	for i := range results {
		ids[i] = results[i].TaskID
	}
	r.sent.start(ids)
	done := make(chan error, 1)
	go func() {
		err := conn.PublishResults(ctx, results)
		if err == nil {
			// Before done: the result loop settles them after it.
			r.early.add(ids)
		}
		release()
		done <- err
	}()
	return func() bool {
		err := <-done
		// Called once the tasks' commits are over: the journaler has
		// journaled each of these tasks or skipped it, and a confirmed
		// one is recorded done either way (see sentResults).
		r.early.forget(ids)
		r.sent.finish(ids, err == nil)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("publishing results failed; they go to the outbox", "results", len(results), "err", err)
		}
		return err == nil
	}
}
