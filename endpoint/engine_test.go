package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/worker"
)

// The test binary is also the manager and worker binary of the engines it
// starts.
func TestMain(m *testing.M) {
	endpoint.ServeChildRole()
	goleak.VerifyTestMain(m)
}

// startEngine runs an engine for the test and checks, when the test ends,
// that Stop leaves no manager or worker process behind.
func startEngine(t *testing.T, cfg endpoint.Config) *endpoint.Engine {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testlog.New(t, slog.LevelInfo)
	}
	if cfg.HeartbeatPeriod == 0 {
		cfg.HeartbeatPeriod, cfg.HeartbeatThreshold = 200*time.Millisecond, 5*time.Second
	}
	cfg.LogDir = t.TempDir()
	e, err := endpoint.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		proctest.WaitGone(t, manager.EnvRunID, e.RunID(), 10*time.Second)
	})
	return e
}

func collect(t *testing.T, e *endpoint.Engine, n int, within time.Duration) map[funcx.TaskID]funcx.Result {
	t.Helper()
	got := make(map[funcx.TaskID]funcx.Result, n)
	deadline := time.After(within)
	for len(got) < n {
		select {
		case batch := <-e.Results():
			for _, r := range batch {
				if _, dup := got[r.TaskID]; dup {
					t.Fatalf("task %s returned twice", r.TaskID)
				}
				got[r.TaskID] = r
			}
		case <-deadline:
			t.Fatalf("%d of %d results within %s; status %+v", len(got), n, within, e.Status().Interchange)
		}
	}
	return got
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTenThousandTasksTwoManagersFourWorkers(t *testing.T) {
	t.Parallel()
	e := startEngine(t, endpoint.Config{
		MaxWorkersPerNode: 4,
		CoresPerWorker:    0.5, // four workers even on a two-core machine
		PrefetchCapacity:  16,
		Provider:          endpoint.ProviderConfig{InitBlocks: 2, MinBlocks: 2, MaxBlocks: 2},
	})
	const n, shellEvery = 10000, 20 // every 20th task is a shell command
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i].ID = funcx.NewTaskID()
		if i%shellEvery == 0 {
			tasks[i].Function = funcx.Shell("echo task-{i}")
			tasks[i].Args = []byte(fmt.Sprintf(`{"i":%d}`, i))
		} else {
			tasks[i].Function = funcx.GoFunc(worker.NameEcho)
			tasks[i].Args = []byte(fmt.Sprint(i))
		}
	}
	for i := 0; i < n; i += 500 {
		if err := e.Submit(tasks[i : i+500]...); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, e, n, 3*time.Minute)
	managers, workers := map[string]bool{}, map[string]bool{}
	for i, task := range tasks {
		r := got[task.ID]
		if r.State != funcx.StateSuccess {
			t.Fatalf("task %d failed: %+v", i, r.Error)
		}
		if i%shellEvery == 0 {
			if want := fmt.Sprintf("task-%d\n", i); string(r.Stdout) != want || r.ExitCode != 0 {
				t.Fatalf("shell task %d: stdout %q exit %d", i, r.Stdout, r.ExitCode)
			}
		} else if string(r.Output) != fmt.Sprint(i) {
			t.Fatalf("go task %d: output %q", i, r.Output)
		}
		managers[r.Manager] = true
		workers[fmt.Sprint(r.Manager, "/", r.Worker)] = true
	}
	// Both managers, and several workers of each: not necessarily all 8,
	// as a worker that a loaded machine starts after the burst is over
	// (race-built, it takes seconds) gets nothing to do.
	if len(managers) != 2 || len(workers) < 4 {
		t.Fatalf("ran on %d managers and %d workers, want 2 and at least 4 of the 8", len(managers), len(workers))
	}
	st := e.Status().Interchange
	if st.Pending != 0 || st.InFlight != 0 || st.Counters.Completed != n {
		t.Fatalf("after the run: %+v", st)
	}
}

// managerPID waits for a connected manager and returns its process ID.
func managerPID(t *testing.T, e *endpoint.Engine) int {
	t.Helper()
	var pid int
	waitFor(t, "a manager", func() bool {
		ms := e.Status().Interchange.Managers
		if len(ms) == 1 {
			pid = ms[0].PID
		}
		return pid != 0
	})
	return pid
}

func TestManagerKilledMidRun(t *testing.T) {
	t.Parallel()
	t.Run("in-flight tasks fail with ManagerLost", func(t *testing.T) {
		t.Parallel()
		e := startEngine(t, endpoint.Config{MaxWorkersPerNode: 2, Provider: endpoint.ProviderConfig{InitBlocks: 1, MaxBlocks: 1}})
		pid := managerPID(t, e)
		in := []funcx.Task{
			{ID: funcx.NewTaskID(), Function: funcx.Command("sleep", "60")},
			{ID: funcx.NewTaskID(), Function: funcx.Command("sleep", "60")},
		}
		if err := e.Submit(in...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "tasks in flight", func() bool { return e.Status().Interchange.InFlight == 2 })
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for _, r := range collect(t, e, 2, 30*time.Second) {
			if !errors.Is(r.Err(), funcx.ErrManagerLost) {
				t.Fatalf("got %+v, want ManagerLost", r)
			}
		}
	})
	t.Run("in-flight tasks are retried when configured", func(t *testing.T) {
		t.Parallel()
		e := startEngine(t, endpoint.Config{MaxWorkersPerNode: 1, MaxRetriesOnSystemFailure: 1, Provider: endpoint.ProviderConfig{InitBlocks: 1, MaxBlocks: 1}})
		pid := managerPID(t, e)
		// The first attempt hangs; the retry, which finds the marker, ends.
		marker := filepath.Join(t.TempDir(), "first-attempt")
		task := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Shell(
			fmt.Sprintf("if [ -e %s ]; then echo second; else touch %s; sleep 60; fi", marker, marker))}
		if err := e.Submit(task); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first attempt to start", func() bool { _, err := os.Stat(marker); return err == nil })
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The block fails, the scaler starts another, the task runs again.
		r := collect(t, e, 1, time.Minute)[task.ID]
		if r.State != funcx.StateSuccess || string(r.Stdout) != "second\n" || r.Attempt != 1 {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestStopMidRunLeavesNothing(t *testing.T) {
	t.Parallel()
	e := startEngine(t, endpoint.Config{MaxWorkersPerNode: 2, Provider: endpoint.ProviderConfig{InitBlocks: 2, MaxBlocks: 2}})
	var in []funcx.Task
	for range 4 {
		in = append(in, funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Command("sleep", "60")})
	}
	if err := e.Submit(in...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tasks in flight", func() bool { return e.Status().Interchange.InFlight == 4 })
	if n := len(proctest.WithEnv(manager.EnvRunID, e.RunID())); n < 6 {
		t.Fatalf("only %d processes of the run before stop", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	proctest.WaitGone(t, manager.EnvRunID, e.RunID(), 10*time.Second)
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("stop took %s", took)
	}
	if err := e.Submit(in[0]); err == nil {
		t.Fatal("submit after stop accepted")
	}
}

func TestCustomWorkerBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "custom-worker")
	build := exec.Command("go", "build", "-o", bin, "../examples/custom-worker")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build custom worker: %v\n%s", err, out)
	}
	e := startEngine(t, endpoint.Config{MaxWorkersPerNode: 1, WorkerCommand: []string{bin}})
	count := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("countprimes"), Args: []byte(`{"below":100}`)}
	missing := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("not-registered")}
	if err := e.Submit(count, missing); err != nil {
		t.Fatal(err)
	}
	got := collect(t, e, 2, time.Minute)
	if r := got[count.ID]; r.State != funcx.StateSuccess || string(r.Output) != "25" {
		t.Fatalf("countprimes: %+v", r)
	}
	if r := got[missing.ID]; !errors.Is(r.Err(), funcx.ErrFunctionNotFound) {
		t.Fatalf("unregistered function: %+v", r)
	}
}

func TestEngineRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg  endpoint.Config
		want string
	}{
		"min over max":     {endpoint.Config{Provider: endpoint.ProviderConfig{MinBlocks: 3, MaxBlocks: 2}}, "provider.min_blocks"},
		"unknown provider": {endpoint.Config{Provider: endpoint.ProviderConfig{Type: "condor"}}, "provider.type"},
		"negative workers": {endpoint.Config{MaxWorkersPerNode: -1}, "max_workers_per_node"},
		"bad launcher":     {endpoint.Config{Provider: endpoint.ProviderConfig{Launcher: "qsub-magic"}}, "provider.launcher"},
		"bad worker mode":  {endpoint.Config{WorkerMode: "vm"}, "worker_mode"},
		"parallelism":      {endpoint.Config{Provider: endpoint.ProviderConfig{Parallelism: 2}}, "provider.parallelism"},
		"python arguments": {endpoint.Config{PythonCommand: "python3 -u"}, "python_command"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := endpoint.NewEngine(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestSubmitRejectsInvalidFunction(t *testing.T) {
	t.Parallel()
	e, err := endpoint.NewEngine(endpoint.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	if err := e.Submit(funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Function{Kind: funcx.KindShell}}); err == nil {
		t.Fatal("empty shell function accepted")
	}
}
