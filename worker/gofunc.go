package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/funcx-go/funcx"
)

// runGo calls the registered Go function the task names.
func (s *server) runGo(ctx context.Context, t *funcx.Task, res *funcx.Result) {
	f := &t.Function
	fn, inline := s.lookup(f.Name)
	if fn == nil {
		res.Error = funcx.Errorf(funcx.FunctionNotFound,
			"no Go function named %q in this worker binary: register it with worker.Register in the worker program "+
				"(before it calls worker.Main) and point the endpoint's worker_command at that program", f.Name)
		return
	}
	s.restoreProcs()
	tctx, cancel := taskContext(ctx, f.Timeout)
	defer cancel()

	var r goReturn
	returned := true
	if inline {
		r.out, r.err = fn(tctx, t.Args)
	} else {
		r, returned = s.callAsync(tctx, f.Name, fn, t.Args)
	}

	var p *panicError
	switch {
	case errors.As(r.err, &p):
		res.Error = &funcx.TaskError{Kind: funcx.RemoteError,
			Message: fmt.Sprintf("go function %q panicked: %v", f.Name, p.value), Stack: p.stack}
	case !returned, timedOut(tctx), r.err != nil && tctx.Err() != nil:
		res.Error = interrupted(tctx, describe(f), f.Timeout)
	case r.err != nil:
		res.Error = goError(f.Name, r.err)
	case len(r.out) == 0:
		res.Output = jsonNull // a result always decodes
	default:
		res.Output = r.out
	}
}

// lookup finds a function and whether it may run on the serve goroutine.
func (s *server) lookup(name string) (RawFunc, bool) {
	if b := builtin(name); b != nil {
		return b.fn, b.inline
	}
	fn, _ := s.reg.Lookup(name)
	return fn, false
}

type goReturn struct {
	out json.RawMessage
	err error
}

// callAsync runs fn on its own goroutine so that the worker stays in
// control of a function that blocks: once tctx is done the function gets
// CancelGrace to return, and is abandoned after that (returned is false)
// so that the worker can answer and go on.
func (s *server) callAsync(tctx context.Context, name string, fn RawFunc, args json.RawMessage) (r goReturn, returned bool) {
	done := make(chan goReturn, 1)
	go func() { done <- callSafe(tctx, fn, args) }()
	select {
	case r = <-done:
		return r, true
	case <-tctx.Done():
	}
	grace := time.NewTimer(s.cfg.CancelGrace)
	defer grace.Stop()
	select {
	case r = <-done:
		return r, true
	case <-grace.C:
		s.log.Warn("go function ignores its context: abandoning its goroutine", "function", name, "grace", s.cfg.CancelGrace)
		return goReturn{}, false
	}
}

// panicError carries a recovered panic and where it happened.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// callSafe calls fn, turning a panic into a panicError.
func callSafe(ctx context.Context, fn RawFunc, args json.RawMessage) (r goReturn) {
	defer func() {
		if v := recover(); v != nil {
			r = goReturn{err: &panicError{value: v, stack: string(debug.Stack())}}
		}
	}()
	r.out, r.err = fn(ctx, args)
	return r
}

// goError turns a Go function's error into the task's error: a TaskError
// keeps its kind (a failure kind other than RemoteError gets the function's
// name, since the function wrote its message without it), any other error
// is a RemoteError with its message.
func goError(name string, err error) *funcx.TaskError {
	var te *funcx.TaskError
	if !errors.As(err, &te) {
		return &funcx.TaskError{Kind: funcx.RemoteError, Message: err.Error()}
	}
	e := *te
	switch e.Kind {
	case funcx.NoError:
		e.Kind = funcx.RemoteError
	case funcx.RemoteError:
	default:
		e.Message = fmt.Sprintf("go function %q: %s", name, e.Message)
	}
	return &e
}
