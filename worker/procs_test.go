package worker_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/python/pythontest"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

// A worker process runs Python and shell tasks on one P and gives a Go
// function the Ps back; an in-process Serve leaves GOMAXPROCS alone. Not
// parallel: GOMAXPROCS belongs to the test binary.
func TestPythonTasksNarrowProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var reg worker.Registry
	reg.Register("procs", worker.Typed(func(context.Context, struct{}) (int, error) { return runtime.GOMAXPROCS(0), nil }))
	noop := pyTask("def f():\n    return 1\n", "f", "")
	procs := newTask(funcx.GoFunc("procs"), `{}`)

	embedded := serve(t, worker.Config{WorkerID: 2, Registry: &reg, PythonCommand: pythontest.Command(t)})
	wantSuccess(t, run1(t, embedded, noop))
	if n := runtime.GOMAXPROCS(0); n != 4 {
		t.Fatalf("an in-process Serve set GOMAXPROCS to %d", n)
	}
	embedded.Close()

	c, _, done := workertest.Serve(t, worker.OwnProcess(worker.Config{WorkerID: 2, Registry: &reg, PythonCommand: pythontest.Command(t)}))
	wantSuccess(t, run1(t, c, noop))
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("GOMAXPROCS %d after a Python task, want 1", n)
	}
	r := run1(t, c, procs)
	wantSuccess(t, r)
	if n := decode[int](t, r.Output); n != 4 {
		t.Fatalf("a Go function ran with GOMAXPROCS %d, want 4", n)
	}
	wantSuccess(t, run1(t, c, noop))
	// Shell tasks too, after a Go function gave the Ps back.
	wantSuccess(t, run1(t, c, procs))
	wantSuccess(t, run1(t, c, newTask(funcx.Command("true"), "")))
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("GOMAXPROCS %d after a shell task, want 1", n)
	}
	c.Close()
	<-done
	if n := runtime.GOMAXPROCS(0); n != 4 {
		t.Fatalf("GOMAXPROCS %d after the worker stopped, want 4", n)
	}
}
