package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// Executor submits tasks to one endpoint and returns futures. Submissions
// from any number of goroutines are grouped into batched POST /v1/tasks
// requests (up to Config.MaxBatch tasks, held at most Config.BatchDelay,
// up to Config.MaxSubmitsInFlight requests at once, so batches may reach
// the service in another order than they were made), and the client's
// single results long poll resolves the futures. Task
// IDs are made by the client, so a request retried after a network error
// cannot create a task twice.
type Executor struct {
	c          *Client
	endpointID string

	wake     chan struct{} // signalled when the queue grows
	stopping chan struct{} // closed by Close: flush the queue, then stop
	done     chan struct{} // closed when the batching loop and its requests have ended
	stopOnce sync.Once
	// slots holds a token per request in flight, at most
	// Config.MaxSubmitsInFlight.
	slots chan struct{}

	mu      sync.Mutex
	queue   []queued
	firstAt time.Time // when queue[0] was queued
	closed  bool      // no more submissions
}

// queued is a submission waiting for its batch.
type queued struct {
	f    *Future
	task api.TaskSubmit
}

// Executor returns an Executor for the endpoint. It starts one goroutine,
// ended by Executor.Close or Client.Close. An Executor of a closed client
// fails every submission with ErrClosed.
func (c *Client) Executor(endpointID string) *Executor {
	e := &Executor{
		c:          c,
		endpointID: endpointID,
		wake:       make(chan struct{}, 1),
		stopping:   make(chan struct{}),
		done:       make(chan struct{}),
		slots:      make(chan struct{}, c.cfg.MaxSubmitsInFlight),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		e.closed = true
		close(e.done)
		return e
	}
	c.executors[e] = struct{}{}
	c.wg.Go(e.run)
	return e
}

// EndpointID returns the endpoint the executor submits to.
func (e *Executor) EndpointID() string { return e.endpointID }

// Submit submits a task of functionID with args encoded as JSON (nil for
// none) and returns its future at once; the submission itself happens in
// the background, and its failure resolves the future with the error.
func (e *Executor) Submit(functionID string, args any) *Future {
	raw, err := marshalArgs(args)
	if err != nil {
		f := newFuture(newTaskID().String())
		f.fail(fmt.Errorf("submit to function %s: %w", functionID, err))
		return f
	}
	return e.SubmitRaw(functionID, raw, nil)
}

// SubmitRaw is Submit with arguments already in JSON and stdin for a
// shell function.
func (e *Executor) SubmitRaw(functionID string, args json.RawMessage, stdin []byte) *Future {
	q := queued{task: api.TaskSubmit{TaskID: newTaskID().String(), FunctionID: functionID, Args: args, Stdin: stdin}}
	q.f = newFuture(q.task.TaskID)
	e.enqueue([]queued{q})
	return q.f
}

// Map submits one task of functionID per input (each encoded as JSON) and
// returns their futures in input order once the service has accepted all
// of them. An input that cannot be encoded fails the call before anything
// is sent. If a submission fails or ctx ends first, Map returns the error
// with the futures, which stay valid.
func (e *Executor) Map(ctx context.Context, functionID string, inputs []any) ([]*Future, error) {
	qs := make([]queued, len(inputs))
	for i, in := range inputs {
		raw, err := marshalArgs(in)
		if err != nil {
			return nil, fmt.Errorf("map function %s: input %d: %w", functionID, i, err)
		}
		qs[i].task = api.TaskSubmit{TaskID: newTaskID().String(), FunctionID: functionID, Args: raw}
		qs[i].f = newFuture(qs[i].task.TaskID)
	}
	e.enqueue(qs)
	fs := futuresOf(qs)
	for _, f := range fs {
		select {
		case <-f.sent:
			if f.sendErr != nil {
				return fs, f.sendErr
			}
		case <-ctx.Done():
			return fs, fmt.Errorf("map function %s: %w", functionID, ctx.Err())
		}
	}
	return fs, nil
}

// marshalArgs encodes args; nil means no arguments.
func marshalArgs(args any) (json.RawMessage, error) {
	if args == nil {
		return nil, nil
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode args: %w", err)
	}
	return raw, nil
}

// enqueue registers the futures with the results watcher, before anything
// is posted, then queues the tasks for the batching loop.
func (e *Executor) enqueue(qs []queued) {
	if err := e.c.results.register(futuresOf(qs)); err != nil {
		failAll(qs, err)
		return
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.forget(qs, ErrClosed)
		return
	}
	if len(e.queue) == 0 {
		e.firstAt = time.Now()
	}
	e.queue = append(e.queue, qs...)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run sends batches until Close has flushed the queue or the client
// closes, up to Config.MaxSubmitsInFlight requests at once. A batch is
// taken only once a request may start, so that what is submitted while
// every request is busy travels together in the next.
func (e *Executor) run() {
	var sending sync.WaitGroup
	defer close(e.done)
	defer sending.Wait()
	ctx := e.c.ctx
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		batch, wait, stop := e.next()
		if len(batch) > 0 {
			sending.Go(func() {
				defer func() { <-e.slots }()
				e.send(ctx, batch)
			})
			continue
		}
		<-e.slots
		if stop {
			return
		}
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-e.wake:
		case <-tick:
		case <-e.stopping:
		case <-ctx.Done():
			return
		}
	}
}

// next takes the next batch if it is due: full, held for BatchDelay, or
// the executor is closing. Otherwise it says how long until the batch is
// due (0: the queue is empty) and whether the loop should end.
func (e *Executor) next() (batch []queued, wait time.Duration, stop bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.queue)
	if n == 0 {
		return nil, 0, e.closed
	}
	wait = time.Until(e.firstAt.Add(e.c.cfg.BatchDelay))
	if n < e.c.cfg.MaxBatch && !e.closed && wait > 0 {
		return nil, wait, false
	}
	k := min(n, e.c.cfg.MaxBatch)
	batch = e.queue[:k:k]
	if k == n {
		e.queue = nil
	} else {
		// The rest has waited as long as this batch: it stays due.
		e.queue = e.queue[k:]
	}
	return batch, 0, false
}

// send posts a batch, in as many requests as the size limits need, and
// fails the futures of tasks the service did not accept.
func (e *Executor) send(ctx context.Context, batch []queued) {
	if err := e.c.results.start(ctx); err != nil {
		e.forget(batch, e.c.closedErr(fmt.Errorf("submit to endpoint %s: %w", e.endpointID, err)))
		return
	}
	tasks := make([]api.TaskSubmit, len(batch))
	for i := range batch {
		tasks[i] = batch[i].task
	}
	off := 0
	for chunk := range chunkTasks(tasks, e.c.cfg.MaxBatch) {
		part := batch[off : off+len(chunk)]
		off += len(chunk)
		ids, err := e.c.postTasks(ctx, e.endpointID, chunk)
		if err != nil {
			e.c.log.Debug("submission failed", "endpoint", e.endpointID, "tasks", len(chunk), "err", err)
			e.forget(part, e.c.closedErr(err))
			continue
		}
		for i := range part {
			if ids[i] != part[i].task.TaskID {
				// Results would come under an ID no future waits for.
				e.forget(part[i:i+1], fmt.Errorf("submit to endpoint %s: the service answered task ID %s for %s", e.endpointID, ids[i], part[i].task.TaskID))
				continue
			}
			part[i].f.markSent(nil)
		}
	}
}

// forget unregisters the futures of tasks that were not submitted and
// fails them with err.
func (e *Executor) forget(qs []queued, err error) {
	for i := range qs {
		e.c.results.forget(qs[i].f.id)
	}
	failAll(qs, err)
}

// futuresOf returns the futures of qs.
func futuresOf(qs []queued) []*Future {
	fs := make([]*Future, len(qs))
	for i := range qs {
		fs[i] = qs[i].f
	}
	return fs
}

// failAll fails the futures of qs with err.
func failAll(qs []queued, err error) {
	for i := range qs {
		qs[i].f.fail(err)
	}
}

// Close sends the submissions still queued, stops the executor's goroutine
// and returns once it has ended. Futures of submitted tasks keep resolving
// while the Client is open; later submissions fail with ErrClosed. Close is
// idempotent and always returns nil.
func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.stopOnce.Do(func() { close(e.stopping) })
	<-e.done
	e.c.mu.Lock()
	delete(e.c.executors, e)
	e.c.mu.Unlock()
	return nil
}

// abort stops the executor for Client.Close: queued submissions fail with
// ErrClosed; the loop ends with the client's context.
func (e *Executor) abort() {
	e.mu.Lock()
	e.closed = true
	qs := e.queue
	e.queue = nil
	e.mu.Unlock()
	e.forget(qs, ErrClosed)
}
