package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx"
)

// run runs one task and returns its result.
func (s *server) run(ctx context.Context, t *funcx.Task) funcx.Result {
	res := funcx.Result{
		TaskID:  t.ID,
		Attempt: t.Attempt,
		Worker:  s.cfg.WorkerID,
		Times:   funcx.Timings{Received: t.Received, Started: time.Now()},
	}
	if err := t.Function.Validate(); err != nil {
		res.Error = funcx.Errorf(funcx.InvalidTask, "%v", err)
		res.ExitCode = -1
	} else if t.Function.Kind == funcx.KindShell {
		s.runShell(ctx, t, &res)
	} else if t.Function.Kind == funcx.KindPython {
		s.runPython(ctx, t, &res)
	} else {
		s.runGo(ctx, t, &res)
	}
	res.Times.Finished = time.Now()
	res.State = funcx.StateSuccess
	if res.Error != nil {
		res.State = funcx.StateFailed
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("task done", "task", t.ID, "kind", t.Function.Kind, "state", res.State,
			"took", res.Times.Finished.Sub(res.Times.Started), "err", res.Err())
	}
	return res
}

// errTaskTimeout is the cause of a task context that hit its function's
// timeout, telling it apart from a worker that is stopping (or a caller's
// own deadline on Serve's context).
var errTaskTimeout = errors.New("task timeout")

// taskContext bounds a task by its function's timeout; zero means none.
func taskContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, timeout, errTaskTimeout)
}

// interrupted is the error of a task whose context ended before it did:
// TaskTimeout at its own timeout, Cancelled when the worker is stopping.
func interrupted(tctx context.Context, what string, timeout time.Duration) *funcx.TaskError {
	cause := context.Cause(tctx)
	if errors.Is(cause, errTaskTimeout) {
		return funcx.Errorf(funcx.TaskTimeout, "%s timed out after %s", what, timeout)
	}
	return funcx.Errorf(funcx.Cancelled, "%s cancelled: %v", what, cause)
}

// timedOut reports whether tctx ended at the task's own timeout.
func timedOut(tctx context.Context) bool {
	return tctx.Err() != nil && errors.Is(context.Cause(tctx), errTaskTimeout)
}

// describe names a function in messages.
func describe(f *funcx.Function) string {
	switch f.Kind {
	case funcx.KindGo:
		return fmt.Sprintf("go function %q", f.Name)
	case funcx.KindPython:
		return fmt.Sprintf("python function %q", f.Name)
	}
	return "shell command"
}
