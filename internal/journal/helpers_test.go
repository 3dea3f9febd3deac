package journal

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
)

// setup opens a journal in a fresh directory and closes it at the end of
// the test.
func setup(t testing.TB, opts Options) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	return openAt(t, path, opts), path
}

func openAt(t testing.TB, path string, opts Options) *Journal {
	t.Helper()
	j, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// sampleTasks returns n tasks with every field set, in the forms the wire
// codec round-trips exactly (nil rather than empty slices and maps).
func sampleTasks(n int) []funcx.Task {
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{
			ID: funcx.NewTaskID(),
			Function: funcx.Function{
				Kind:        funcx.KindShell,
				Script:      "echo {name}",
				Env:         map[string]string{"GREETING": "hello"},
				Timeout:     time.Minute,
				OutputLimit: 4096,
			},
			Args:      []byte(`{"name":"world","n":12345}`),
			Container: "python:3.12",
			Resources: funcx.ResourceSpec{Cores: 1, MemoryBytes: 1 << 30},
			Attempt:   i % 3,
			Received:  time.Unix(0, time.Now().UnixNano()),
		}
	}
	return tasks
}

// resultsFor returns one successful result per task.
func resultsFor(tasks []funcx.Task) []funcx.Result {
	results := make([]funcx.Result, len(tasks))
	for i, t := range tasks {
		results[i] = funcx.Result{
			TaskID:   t.ID,
			State:    funcx.StateSuccess,
			Stdout:   []byte("hello world\n"),
			ExitCode: 0,
			Times:    funcx.Timings{Received: t.Received, Finished: time.Unix(0, time.Now().UnixNano())},
			Manager:  "m-1",
			Worker:   i % 4,
		}
	}
	return results
}

func ids[T any](xs []T, id func(T) funcx.TaskID) []funcx.TaskID {
	out := make([]funcx.TaskID, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func taskIDs(tasks []funcx.Task) []funcx.TaskID {
	return ids(tasks, func(t funcx.Task) funcx.TaskID { return t.ID })
}

func resultIDs(results []funcx.Result) []funcx.TaskID {
	return ids(results, func(r funcx.Result) funcx.TaskID { return r.TaskID })
}

func mustAddTasks(t testing.TB, j *Journal, tasks []funcx.Task) []funcx.Task {
	t.Helper()
	fresh, err := j.AddTasks(context.Background(), tasks)
	if err != nil {
		t.Fatalf("add tasks: %v", err)
	}
	return fresh
}

func mustAddResults(t testing.TB, j *Journal, results []funcx.Result) int {
	t.Helper()
	n, err := j.AddResults(context.Background(), results)
	if err != nil {
		t.Fatalf("add results: %v", err)
	}
	return n
}

func mustConfirm(t testing.TB, j *Journal, ids []funcx.TaskID) {
	t.Helper()
	if err := j.Confirm(context.Background(), ids); err != nil {
		t.Fatalf("confirm: %v", err)
	}
}

func mustPending(t testing.TB, j *Journal) []funcx.Task {
	t.Helper()
	tasks, err := j.PendingTasks()
	if err != nil {
		t.Fatalf("pending tasks: %v", err)
	}
	return tasks
}

func mustOutbox(t testing.TB, j *Journal) []funcx.Result {
	t.Helper()
	results, err := j.Outbox(0)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	return results
}

func sameIDs(a, b []funcx.TaskID) bool { return slices.Equal(a, b) }
