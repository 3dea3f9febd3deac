package local_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/local"
	"github.com/funcx-go/funcx/provider/providertest"
)

// newProvider returns a local provider with a short grace, shut down at
// cleanup.
func newProvider(t *testing.T, cfg local.Config) *local.Provider {
	t.Helper()
	cfg.CancelGrace = max(cfg.CancelGrace, 500*time.Millisecond)
	p, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return p
}

// groupGone reports, as an error, a job with any process of its session
// (and so of its process group) alive.
func groupGone(p provider.Provider, id provider.JobID) error {
	pid, ok := p.(*local.Provider).PID(id)
	if !ok {
		return fmt.Errorf("no pid for %s", id)
	}
	if local.GroupAlive(pid) || local.SessionAlive(pid) {
		return fmt.Errorf("session %d is alive", pid)
	}
	return nil
}

// A worker puts each shell task in a process group of its own; such
// processes must not outlive their block.
func TestProcessesInOtherGroupsEndWithTheBlock(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"cancelled", "exited"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			p, err := local.New(local.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
			pidFile := filepath.Join(t.TempDir(), "escapee")
			// set -m gives the background job its own process group.
			script := "set -m; sleep 300 & echo $! > " + pidFile + "; "
			if end == "cancelled" {
				script += "wait"
			} else {
				script += "sleep 0.2"
			}
			id, err := p.Submit(context.Background(), provider.Job{BlockID: "b", Command: script})
			if err != nil {
				t.Fatal(err)
			}
			var escapee int
			providertest.WaitFor(t, 10*time.Second, "the escapee's pid", func() bool {
				b, err := os.ReadFile(pidFile)
				escapee, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return err == nil && escapee > 0
			})
			// It leads its own group, as a worker's shell task does.
			if pgid, _ := syscall.Getpgid(escapee); pgid != escapee {
				t.Fatalf("test setup: escapee %d is in group %d, not its own", escapee, pgid)
			}
			if end == "cancelled" {
				if err := p.Cancel(context.Background(), []provider.JobID{id}); err != nil {
					t.Fatal(err)
				}
			}
			providertest.WaitFor(t, 15*time.Second, "the block to end", func() bool {
				st, err := p.Status(context.Background(), []provider.JobID{id})
				return err == nil && st[0].State.Terminal()
			})
			providertest.WaitFor(t, 5*time.Second, "the escapee gone", func() bool {
				return syscall.Kill(escapee, 0) != nil || local.ProcessIsZombie(escapee)
			})
		})
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.RunConformance(t, func(t *testing.T) provider.Provider {
		return newProvider(t, local.Config{})
	}, providertest.Options{
		StderrInMessage: true,
		Walltime:        300 * time.Millisecond,
		CheckGone:       groupGone,
		Timeout:         10 * time.Second,
	})
}

func submit(t *testing.T, p *local.Provider, j provider.Job) provider.JobID {
	t.Helper()
	if j.BlockID == "" {
		j.BlockID = "b"
	}
	if j.ScriptDir == "" {
		j.ScriptDir = t.TempDir()
	}
	id, err := p.Submit(context.Background(), j)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return id
}

func waitEnded(t *testing.T, p *local.Provider, id provider.JobID) provider.JobStatus {
	t.Helper()
	var st provider.JobStatus
	providertest.WaitFor(t, 10*time.Second, "job "+string(id)+" ended", func() bool {
		sts, err := p.Status(context.Background(), []provider.JobID{id})
		if err != nil {
			t.Fatal(err)
		}
		st = sts[0]
		return st.State.Terminal()
	})
	return st
}

func waitGone(t *testing.T, p *local.Provider, id provider.JobID) {
	t.Helper()
	providertest.WaitFor(t, 10*time.Second, "job "+string(id)+" gone", func() bool { return groupGone(p, id) == nil })
}

func TestLocalProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("environment, worker init and output files", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{})
		dir := filepath.Join(t.TempDir(), "scripts")
		id := submit(t, p, provider.Job{
			BlockID:    "blk-1",
			ScriptDir:  dir,
			Env:        map[string]string{"FUNCX_TEST_VALUE": "from env"},
			WorkerInit: "export FROM_INIT=yes",
			Command:    `echo "$FUNCX_TEST_VALUE $FROM_INIT"; echo to-stderr >&2`,
		})
		if st := waitEnded(t, p, id); st.State != provider.JobCompleted {
			t.Fatalf("ended %+v", st)
		}
		for file, want := range map[string]string{"blk-1.out": "from env yes\n", "blk-1.err": "to-stderr\n"} {
			got, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil || string(got) != want {
				t.Errorf("%s = %q, %v; want %q", file, got, err, want)
			}
		}
	})

	t.Run("SIGTERM ignored: SIGKILL after the grace", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{CancelGrace: 200 * time.Millisecond})
		// An ignored signal stays ignored across exec, so sleep ignores
		// it too.
		dir := t.TempDir()
		id := submit(t, p, provider.Job{BlockID: "stubborn", ScriptDir: dir, Command: `trap '' TERM; echo ready; sleep 3600`})
		providertest.WaitFor(t, 10*time.Second, "the trap set", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "stubborn.out"))
			return string(b) == "ready\n"
		})
		if err := p.Cancel(ctx, []provider.JobID{id}); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if st := waitEnded(t, p, id); st.State != provider.JobCancelled || st.ExitCode != 137 {
			t.Errorf("ended %+v, want cancelled by SIGKILL", st)
		}
		waitGone(t, p, id)
	})

	t.Run("processes left behind are killed when the block ends", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{})
		id := submit(t, p, provider.Job{Command: `sleep 3600 & exit 0`})
		if st := waitEnded(t, p, id); st.State != provider.JobCompleted {
			t.Errorf("ended %+v", st)
		}
		waitGone(t, p, id)
	})

	t.Run("killed by a signal is failed", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{})
		id := submit(t, p, provider.Job{Command: `echo dying >&2; kill -KILL $$`})
		st := waitEnded(t, p, id)
		if st.State != provider.JobFailed || st.ExitCode != 137 || !strings.Contains(st.Message, "killed by signal killed: dying") {
			t.Errorf("ended %+v", st)
		}
	})

	t.Run("walltime is timeout, not failure", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{})
		id := submit(t, p, provider.Job{Command: `sleep 3600`, Walltime: 100 * time.Millisecond})
		st := waitEnded(t, p, id)
		if st.State != provider.JobTimeout || !strings.Contains(st.Message, "walltime of 100ms exceeded") {
			t.Errorf("ended %+v", st)
		}
		waitGone(t, p, id)
	})

	t.Run("shutdown cancels everything and refuses more", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{})
		ids := []provider.JobID{submit(t, p, provider.Job{BlockID: "a", Command: "sleep 3600"}), submit(t, p, provider.Job{BlockID: "b", Command: "sleep 3600"})}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		sts, _ := p.Status(ctx, ids)
		for _, st := range sts {
			if st.State != provider.JobCancelled {
				t.Errorf("after Shutdown: %+v", st)
			}
		}
		for _, id := range ids {
			waitGone(t, p, id)
		}
		if _, err := p.Submit(ctx, provider.Job{BlockID: "c", Command: "true"}); !errors.Is(err, local.ErrShutdown) {
			t.Errorf("Submit after Shutdown = %v", err)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
	})

	t.Run("unknown shell fails submit", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, local.Config{Shell: "/no/such/shell"})
		if _, err := p.Submit(ctx, provider.Job{BlockID: "x", Command: "true", ScriptDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "/no/such/shell") {
			t.Errorf("Submit = %v", err)
		}
	})

	t.Run("negative grace is invalid", func(t *testing.T) {
		t.Parallel()
		if _, err := local.New(local.Config{CancelGrace: -time.Second}); err == nil || !strings.Contains(err.Error(), "CancelGrace") {
			t.Errorf("New = %v", err)
		}
	})
}

// Not parallel: it points TMPDIR at a directory of its own.
func TestTempScriptDirRemovedOnShutdown(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	p, err := local.New(local.Config{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.Submit(context.Background(), provider.Job{BlockID: "0", Command: "echo hi"})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, p, id)
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 1 {
		t.Fatalf("TMPDIR holds %d entries, want the provider's script dir", len(entries))
	}
	if out, err := os.ReadFile(filepath.Join(tmp, entries[0].Name(), "0.out")); err != nil || string(out) != "hi\n" {
		t.Errorf("0.out = %q, %v", out, err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("script dir left behind: %v", entries)
	}
}

// The provider forgets the oldest ended jobs past its bound, as the PBS
// provider does, so that an endpoint that runs for months does not grow
// with every block it ever started; a job still running is never
// forgotten, and the newest ended ones keep their state.
func TestEndedJobsAreForgottenPastTheBound(t *testing.T) {
	t.Parallel()
	p := newProvider(t, local.Config{})
	local.SetMaxTracked(p, 3)
	running := submit(t, p, provider.Job{Command: "sleep 60"})
	var ended []provider.JobID
	for range 5 {
		id := submit(t, p, provider.Job{Command: "true"})
		waitEnded(t, p, id)
		ended = append(ended, id)
	}
	if n := local.Tracked(p); n > 3 {
		t.Fatalf("the provider remembers %d jobs, want at most 3", n)
	}
	sts, err := p.Status(context.Background(), append([]provider.JobID{running}, ended...))
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.JobState{provider.JobRunning, provider.JobMissing, provider.JobMissing, provider.JobMissing,
		provider.JobCompleted, provider.JobCompleted}
	for i, st := range sts {
		if st.State != want[i] {
			t.Errorf("job %d (%s): %s, want %s", i, st.ID, st.State, want[i])
		}
	}
	if err := p.Cancel(context.Background(), []provider.JobID{running}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, p, running)
}
