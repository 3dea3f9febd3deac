package client

import (
	"encoding/json"
	"fmt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

// Result is a finished task's result as the service stored it, with
// helpers for the common questions.
type Result struct {
	TaskResult api.TaskResult
}

// TaskID returns the task's ID.
func (r *Result) TaskID() string { return r.TaskResult.TaskID }

// State returns funcx.StateSuccess or funcx.StateFailed (StateUnknown for
// a state this SDK does not know).
func (r *Result) State() funcx.TaskState {
	s, _ := funcx.ParseTaskState(r.TaskResult.State)
	return s
}

// Err returns the task's *funcx.TaskError, or nil if it succeeded.
func (r *Result) Err() error {
	if te := taskError(&r.TaskResult); te != nil {
		return te
	}
	return nil
}

// Output decodes a Go or Python function's JSON return value into v.
func (r *Result) Output(v any) error {
	if len(r.TaskResult.Output) == 0 {
		return fmt.Errorf("decode the output of task %s: it has none (a shell function's is in Stdout)", r.TaskResult.TaskID)
	}
	if err := json.Unmarshal(r.TaskResult.Output, v); err != nil {
		return fmt.Errorf("decode the output of task %s: %w", r.TaskResult.TaskID, err)
	}
	return nil
}

// Stdout returns a shell function's captured standard output, or what a
// Python function printed.
func (r *Result) Stdout() []byte { return r.TaskResult.Stdout }

// Stderr returns a shell function's captured standard error, or what a
// Python function printed to sys.stderr.
func (r *Result) Stderr() []byte { return r.TaskResult.Stderr }

// ExitCode returns a shell command's exit status (-1 if it did not exit
// normally).
func (r *Result) ExitCode() int { return r.TaskResult.ExitCode }

// Truncated reports whether Stdout or Stderr was cut at the function's
// output limit.
func (r *Result) Truncated() bool { return r.TaskResult.Truncated }

// newResult wraps r and returns its task error, if any, naming the task.
func newResult(r api.TaskResult) (*Result, error) {
	res := &Result{TaskResult: r}
	if te := taskError(&r); te != nil {
		return res, fmt.Errorf("task %s failed: %w", r.TaskID, te)
	}
	return res, nil
}
