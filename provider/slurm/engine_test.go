package slurm_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
	"github.com/funcx-go/funcx/worker"
)

// engineLabel is the comment the engine puts on its jobs (provider.Job
// Labels), by which squeue finds them.
func engineLabel(e *endpoint.Engine) string { return "funcx-run=" + e.RunID() }

// slurmEngine builds an engine on the real Slurm. Its cleanup stops it
// and then checks that no job of its run is left in squeue and no
// process of its run is left on this host; it also scancels whatever
// is left, so that a failing test leaves nothing behind.
func slurmEngine(t *testing.T, cfg endpoint.Config) (*endpoint.Engine, string) {
	t.Helper()
	requireSlurm(t)
	if cfg.Logger == nil {
		cfg.Logger = testlog.New(t, slog.LevelInfo)
	}
	cfg.Provider.Type = "slurm"
	cfg.HeartbeatPeriod, cfg.HeartbeatThreshold = 500*time.Millisecond, 10*time.Second
	cfg.LogDir = t.TempDir()
	e, err := endpoint.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	label := engineLabel(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if left := queued(t, label); len(left) > 0 {
			t.Errorf("jobs %v of the run are still in squeue after Stop", left)
		}
		cancelLabelled(t, label)
		proctest.WaitGone(t, manager.EnvRunID, e.RunID(), time.Minute)
	})
	return e, cfg.LogDir
}

// blockWith waits until a block of e satisfies ok and returns it.
func blockWith(t *testing.T, e *endpoint.Engine, within time.Duration, what string, ok func(provider.BlockSnapshot) bool) provider.BlockSnapshot {
	t.Helper()
	var found provider.BlockSnapshot
	providertest.WaitFor(t, within, what, func() bool {
		for _, b := range e.Status().Blocks.Blocks {
			if ok(b) {
				found = b
				return true
			}
		}
		return false
	})
	return found
}

// 1,000 tasks through managers that sbatch started: blocks appear on
// backlog, show in squeue while running, are scancelled after
// max_idletime, and Stop leaves none behind.
func TestEngineRunsTasksOnSlurmBlocks(t *testing.T) {
	t.Parallel()
	e, _ := slurmEngine(t, endpoint.Config{
		Provider: endpoint.ProviderConfig{InitBlocks: 0, MaxBlocks: 2},
		Strategy: endpoint.StrategyConfig{MaxIdleTime: 2 * time.Second},
	})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Status().Blocks.Blocks); n != 0 {
		t.Fatalf("%d blocks before any task, want none (init_blocks = 0)", n)
	}

	const n = 1000
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(fmt.Sprint(i))}
	}
	if err := e.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	running := blockWith(t, e, 2*time.Minute, "a block submitted on the backlog to connect", func(b provider.BlockSnapshot) bool {
		return b.Connected
	})
	if ids := queued(t, engineLabel(e)); !containsID(ids, running.JobID) {
		t.Errorf("squeue shows jobs %v of the run, lacking the connected block's job %s", ids, running.JobID)
	}

	got := collectResults(t, e, n, 3*time.Minute)
	for i, task := range tasks {
		if r := got[task.ID]; r.State != funcx.StateSuccess || string(r.Output) != fmt.Sprint(i) {
			t.Fatalf("task %d: %+v", i, r)
		}
	}

	// Idle now: every block is scaled in through scancel.
	providertest.WaitFor(t, 2*time.Minute, "idle blocks to be scaled in", func() bool {
		bs := e.Status().Blocks.Blocks
		for _, b := range bs {
			if !b.State.Terminal() {
				return false
			}
		}
		return len(bs) > 0
	})
	for _, b := range e.Status().Blocks.Blocks {
		if b.State != provider.JobScaledIn {
			t.Errorf("block %s (job %s) ended %s (%q), want scaled-in", b.ID, b.JobID, b.State, b.Message)
		}
	}
	if left := queued(t, engineLabel(e)); len(left) > 0 {
		t.Errorf("jobs %v still in squeue after scale-in", left)
	}
}

// Stopping the engine ends its running blocks: none of its jobs is left
// in squeue, and none of its processes on this host.
func TestEngineStopEndsBlocks(t *testing.T) {
	t.Parallel()
	e, _ := slurmEngine(t, endpoint.Config{
		Provider: endpoint.ProviderConfig{InitBlocks: 2, MaxBlocks: 2},
		Strategy: endpoint.StrategyConfig{MaxIdleTime: time.Hour},
	})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	providertest.WaitFor(t, 2*time.Minute, "both blocks to connect", func() bool {
		n := 0
		for _, b := range e.Status().Blocks.Blocks {
			if b.Connected {
				n++
			}
		}
		return n == 2
	})
	if ids := queued(t, engineLabel(e)); len(ids) != 2 {
		t.Fatalf("squeue shows jobs %v of the run, want its 2 blocks", ids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := queued(t, engineLabel(e)); len(ids) != 0 {
		t.Errorf("jobs %v of the run still in squeue after Stop", ids)
	}
	for _, b := range e.Status().Blocks.Blocks {
		if !b.State.Terminal() || b.State == provider.JobFailed || b.State == provider.JobMissing {
			t.Errorf("block %s (job %s) is %s (%q) after Stop", b.ID, b.JobID, b.State, b.Message)
		}
	}
	proctest.WaitGone(t, manager.EnvRunID, e.RunID(), time.Minute)
}

// A block whose walltime runs out while it works drains its managers
// (no new task) and ends as timeout: Slurm's TIMEOUT when its kill comes
// first, or COMPLETED at the time limit when the managers leave at the
// walltime first, which the provider also reports as timeout. Slurm's
// walltimes are whole minutes, so this takes one.
func TestEngineBlockWalltime(t *testing.T) {
	t.Parallel()
	e, logDir := slurmEngine(t, endpoint.Config{
		Provider: endpoint.ProviderConfig{InitBlocks: 1, MaxBlocks: 1, Walltime: time.Minute},
		// It must end by its walltime, not by scale-in.
		Strategy: endpoint.StrategyConfig{MaxIdleTime: time.Hour},
	})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A task that outlives the walltime keeps the block busy to its end.
	if err := e.Submit(funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Shell("sleep 600")}); err != nil {
		t.Fatal(err)
	}
	b := blockWith(t, e, 2*time.Minute, "the block to run the task", func(b provider.BlockSnapshot) bool { return b.Busy > 0 })
	ended := blockWith(t, e, 4*time.Minute, "the block to reach its walltime", func(x provider.BlockSnapshot) bool {
		return x.ID == b.ID && x.State.Terminal()
	})
	if ended.State != provider.JobTimeout {
		t.Fatalf("block past its walltime ended %s (%q), want timeout", ended.State, ended.Message)
	}
	// The managers drained before the end: they say so in the block's
	// output, which Slurm wrote beside its script.
	files, _ := filepath.Glob(filepath.Join(logDir, "submit_scripts", fmt.Sprintf("funcx-%s.%s.*", b.ID, b.JobID)))
	var output strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		output.Write(data)
	}
	if !strings.Contains(output.String(), "draining") {
		t.Errorf("the block's output (%v) does not show its manager draining before the walltime:\n%s", files, output.String())
	}
}

// A partition that does not exist: Start fails with sbatch's words, and
// a block the scaler submits later fails visibly in Status and the log.
func TestEngineShowsSchedulerErrors(t *testing.T) {
	t.Parallel()
	const partition = "funcx-no-such-partition"

	t.Run("Start", func(t *testing.T) {
		e, _ := slurmEngine(t, endpoint.Config{
			Provider: endpoint.ProviderConfig{InitBlocks: 1, MaxBlocks: 1, Partition: partition},
		})
		err := e.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "invalid partition specified: "+partition) {
			t.Fatalf("Start = %v, want sbatch's invalid partition error", err)
		}
	})

	t.Run("ScaleOut", func(t *testing.T) {
		var logBuf syncBuffer
		logger := slog.New(slog.NewTextHandler(&logBuf, nil))
		e, _ := slurmEngine(t, endpoint.Config{
			Logger:   logger,
			Provider: endpoint.ProviderConfig{InitBlocks: 0, MaxBlocks: 1, Partition: partition},
		})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := e.Submit(funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameNoop)}); err != nil {
			t.Fatal(err)
		}
		b := blockWith(t, e, time.Minute, "the scaled-out block to fail", func(b provider.BlockSnapshot) bool {
			return b.State == provider.JobFailed
		})
		want := "invalid partition specified: " + partition
		if !strings.Contains(b.Message, want) {
			t.Errorf("failed block's message %q lacks %q", b.Message, want)
		}
		if st := e.Status().Blocks; !strings.Contains(st.LastError, want) {
			t.Errorf("status LastError %q lacks %q", st.LastError, want)
		}
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("the endpoint log lacks %q:\n%s", want, logBuf.String())
		}
	})
}

func containsID(ids []provider.JobID, id provider.JobID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func collectResults(t *testing.T, e *endpoint.Engine, n int, within time.Duration) map[funcx.TaskID]funcx.Result {
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
			t.Fatalf("%d of %d results within %s; status %+v", len(got), n, within, e.Status())
		}
	}
	return got
}

// syncBuffer is a bytes.Buffer safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
