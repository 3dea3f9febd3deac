package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/funcx-go/funcx/service/api"
)

// Future is the eventual result of one submitted task. It resolves exactly
// once: with the task's result, or with an error if the task could not be
// submitted or the client closed first.
type Future struct {
	id   string
	done chan struct{}
	once sync.Once
	res  *Result
	err  error

	// sent is closed once the task's submission has been answered (or
	// failed), so that Executor.Map can report submission errors.
	sent     chan struct{}
	sentOnce sync.Once
	sendErr  error
}

func newFuture(id string) *Future {
	return &Future{id: id, done: make(chan struct{}), sent: make(chan struct{})}
}

// TaskID returns the task's ID, chosen by the client before submission.
func (f *Future) TaskID() string { return f.id }

// Done is closed once the future has resolved.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result waits for the task's result or for ctx to end. For a task that
// failed it returns the Result (with whatever output there was) and an
// error wrapping the *funcx.TaskError, so errors.Is(err,
// funcx.ErrWorkerLost) and errors.As work. If ctx ends first, it returns
// ctx's error and the future keeps waiting for the result.
func (f *Future) Result(ctx context.Context) (*Result, error) {
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for task %s: %w", f.id, ctx.Err())
	}
}

// complete resolves the future with the task's result; it reports
// whether this was the first outcome.
func (f *Future) complete(r api.TaskResult) bool {
	// A result proves the submission went through, even if its response
	// is still on the way.
	f.markSent(nil)
	return f.resolve(newResult(r))
}

// fail resolves the future with err: its submission failed or the client
// closed.
func (f *Future) fail(err error) bool {
	f.markSent(err)
	return f.resolve(nil, err)
}

// resolve sets the outcome once; later calls do nothing and report false.
func (f *Future) resolve(res *Result, err error) bool {
	first := false
	f.once.Do(func() {
		f.res, f.err, first = res, err, true
		close(f.done)
	})
	return first
}

// markSent records that the submission was answered, with err if it
// failed; only the first call counts.
func (f *Future) markSent(err error) {
	f.sentOnce.Do(func() {
		f.sendErr = err
		close(f.sent)
	})
}
