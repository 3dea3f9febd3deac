package endpoint_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/python/pythontest"
	"github.com/funcx-go/funcx/manager"
)

// TestPythonTasks runs Python functions through an engine whose two
// workers each keep a real python3: results and failures come back, the
// interpreters stay warm across tasks, worker_init reaches them, a crash
// costs one task and its interpreter only, and Stop leaves no interpreter
// behind (startEngine checks every process of the run, and the
// interpreters inherit the run's mark).
func TestPythonTasks(t *testing.T) {
	t.Parallel()
	e := startEngine(t, endpoint.Config{
		MaxWorkersPerNode: 2,
		CoresPerWorker:    0.5,
		PythonCommand:     pythontest.Command(t),
		WorkerInit:        "export FUNCX_TEST_INIT=from-worker-init",
	})
	integrate := funcx.Python("def integrate(f_name, n):\n    import math\n    f = getattr(math, f_name)\n    return sum(f(i / n) for i in range(n)) / n\n", "integrate")
	whoami := funcx.Python("import os\n\ndef whoami():\n    return [os.getpid(), os.environ.get('FUNCX_TEST_INIT')]\n", "whoami")
	args := func(a ...any) []byte {
		b, _ := json.Marshal(funcx.PythonArgs{Args: a})
		return b
	}
	const n = 200
	var tasks []funcx.Task
	for i := range n {
		tasks = append(tasks,
			funcx.Task{ID: funcx.NewTaskID(), Function: integrate, Args: args("sin", 100+i)},
			funcx.Task{ID: funcx.NewTaskID(), Function: whoami})
	}
	failing := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Python("def f(x):\n    return 1 / x\n", "f"), Args: args(0)}
	tasks = append(tasks, failing)
	if err := e.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, e, len(tasks), 2*time.Minute)
	pids := map[int]bool{}
	for i, task := range tasks[:2*n] {
		r := got[task.ID]
		if r.State != funcx.StateSuccess {
			t.Fatalf("task %d failed: %v\n%s", i, r.Error, r.Err())
		}
		if i%2 == 0 {
			var v float64
			if err := json.Unmarshal(r.Output, &v); err != nil || v < 0.4 || v > 0.46 {
				t.Fatalf("integrate: %s, %v", r.Output, err)
			}
			continue
		}
		var who []any
		if err := json.Unmarshal(r.Output, &who); err != nil || len(who) != 2 || who[1] != "from-worker-init" {
			t.Fatalf("whoami: %s, %v", r.Output, err)
		}
		pids[int(who[0].(float64))] = true
	}
	if len(pids) == 0 || len(pids) > 2 {
		t.Fatalf("%d tasks ran in %d interpreters, want one per worker (at most 2)", n, len(pids))
	}
	marked := proctest.WithEnv(manager.EnvRunID, e.RunID())
	for pid := range pids {
		if !slices.Contains(marked, pid) {
			t.Fatalf("interpreter %d lacks the run's mark, so the check after Stop would miss it (marked: %v)", pid, marked)
		}
	}
	r := got[failing.ID]
	if !errors.Is(r.Err(), funcx.ErrRemote) || r.Error.Message != "ZeroDivisionError: division by zero" || r.Error.Stack == "" {
		t.Fatalf("failing task: %+v", r.Error)
	}

	// A crash is WorkerLost for its task alone; the worker goes on with a
	// new interpreter.
	crash := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Python("import os\ndef f():\n    os._exit(1)\n", "f")}
	if err := e.Submit(crash); err != nil {
		t.Fatal(err)
	}
	if r := collect(t, e, 1, time.Minute)[crash.ID]; !errors.Is(r.Err(), funcx.ErrWorkerLost) {
		t.Fatalf("crash: %+v", r.Error)
	}
	after := make([]funcx.Task, 4)
	for i := range after {
		after[i] = funcx.Task{ID: funcx.NewTaskID(), Function: whoami}
	}
	if err := e.Submit(after...); err != nil {
		t.Fatal(err)
	}
	for id, r := range collect(t, e, len(after), time.Minute) {
		if r.State != funcx.StateSuccess {
			t.Fatalf("task %s after the crash: %v", id, r.Error)
		}
	}
}
