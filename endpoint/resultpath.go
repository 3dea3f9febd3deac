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
//     journaled (or its task's commit fails), the task's delivery was
//     not acked, so the task runs again and the service keeps the first
//     result it got.
//  2. recordLoop journals them in the outbox, as many batches per commit
//     as are waiting, once their tasks are journaled (so that the journal
//     never holds a result before its task), then notes which ones the
//     broker confirmed, for the publisher to drop from the outbox.
//
// The steps run on their own goroutines so that a commit (two fsyncs)
// never holds up the publishing of the next results.

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
	direct  func() // waits for the broker's answer to the publish
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
		// A result enters the outbox only once its task is journaled.
		batch = r.live.awaitJournaled(batch)
		if _, err := r.j.AddResults(ctx, batch); err != nil {
			r.log.Error("recording results failed; the tasks stay journaled and will run again", "results", len(batch), "err", err)
		}
		fromEngine := 0
		for _, it := range items {
			if it.direct != nil {
				it.direct()
			} else {
				r.unsent.Store(true) // journaled, not sent
			}
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

// publishDirect starts publishing results that are being journaled,
// if the broker is connected, and returns a wait that ends once the
// broker has answered; nil if nothing was sent. Results the broker
// confirmed are left for the publisher to remove from the outbox
// (Confirm) once they are there; the others it publishes again.
// release, if set, is called once the publish has ended (or at once
// when nothing is sent).
func (r *runner) publishDirect(ctx context.Context, results []funcx.Result, release func()) (wait func()) {
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
		release()
		done <- err
	}()
	return func() {
		err := <-done
		r.sent.finish(ids, err == nil)
		if err != nil {
			r.unsent.Store(true)
		}
		if err != nil && ctx.Err() == nil {
			r.log.Warn("publishing results failed; they stay in the outbox", "results", len(results), "err", err)
		}
	}
}
