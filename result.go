package funcx

import "time"

// Result is the outcome of one task. A task has exactly one recorded Result.
type Result struct {
	TaskID TaskID
	// State is StateSuccess or StateFailed.
	State TaskState
	// Output is the JSON-encoded return value of a Go function.
	Output []byte
	// Stdout and Stderr are a shell function's captured output, capped at
	// the function's OutputLimit.
	Stdout, Stderr []byte
	// Truncated reports that Stdout or Stderr was cut at the limit.
	Truncated bool
	// ExitCode is a shell command's exit status (-1 if it did not exit
	// normally).
	ExitCode int
	// Error is set when State is StateFailed.
	Error *TaskError
	// Attempt is the attempt that produced this result (see Task.Attempt).
	Attempt int

	Times Timings

	// Manager is the ID of the manager that ran the task and Worker the
	// worker's index on it; empty/-1 when it never reached one.
	Manager string
	Worker  int
}

// Timings are the per-stage timestamps of a task; zero when a stage was
// never reached.
type Timings struct {
	Received   time.Time // the endpoint took the task
	Dispatched time.Time // the interchange sent it to a manager
	Started    time.Time // a worker began running it
	Finished   time.Time // the worker (or the fabric, on failure) finished it
}

// Err returns the task's error, or nil if it succeeded.
func (r *Result) Err() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// FailedResult returns the result of a task that failed with err without
// producing output.
func FailedResult(t *Task, err *TaskError, finished time.Time) Result {
	return Result{
		TaskID:  t.ID,
		State:   StateFailed,
		Error:   err,
		Attempt: t.Attempt,
		Times:   Timings{Received: t.Received, Finished: finished},
		Worker:  -1,
	}
}
