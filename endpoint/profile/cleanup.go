package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/internal/procfs"
	"github.com/funcx-go/funcx/manager"
)

// EnvRunID marks every process of an engine run.
const EnvRunID = manager.EnvRunID

// killGrace is how long leftover processes get after SIGTERM before
// SIGKILL.
const killGrace = 5 * time.Second

// CleanupReport says what a clean-up found and did.
type CleanupReport struct {
	// Stale is true when the profile was Disconnected.
	Stale bool
	// RunID is the dead run's ID, if it was recorded.
	RunID string
	// Killed are the leftover processes of the run that were stopped.
	Killed []int
	// Cancelled are the job IDs of the run's blocks that were cancelled.
	Cancelled []string
}

// CancelJobs cancels blocks a dead run left with its provider.
type CancelJobs func(ctx context.Context, providerType string, jobIDs []string) error

// Cleanup removes what a daemon that died without stopping left behind:
// the processes of its run (found by FUNCX_RUN_ID in /proc, so managers
// and workers in their own sessions are found too), its batch blocks
// (through cancel, by the job IDs in run.json), run.json and the stale
// daemon.pid. It holds the daemon lock throughout, so no daemon starts
// meanwhile. A profile that is not Disconnected is left alone (Stale
// false); a running one is a *RunningError.
func (p *Profile) Cleanup(ctx context.Context, cancel CancelJobs) (CleanupReport, error) {
	var rep CleanupReport
	f, err := p.lockPIDFile(false)
	if errors.Is(err, fs.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	defer f.Close()
	rep.Stale = true

	run, ok, err := p.Run()
	if err != nil {
		return rep, fmt.Errorf("clean up endpoint %s: %w", p.Name, err)
	}
	var errs []error
	if ok && run.RunID != "" {
		rep.RunID = run.RunID
		killed, err := KillRun(ctx, run.RunID)
		rep.Killed = killed
		errs = append(errs, err)
		// Local blocks are process groups of the run: stopped above.
		if len(run.Blocks) > 0 && cancel != nil && run.ProviderType != "local" {
			ids := make([]string, 0, len(run.Blocks))
			for _, b := range run.Blocks {
				if b.JobID != "" {
					ids = append(ids, b.JobID)
				}
			}
			if err := cancel(ctx, run.ProviderType, ids); err != nil {
				errs = append(errs, fmt.Errorf("cancel the blocks %v of the last run: %w", ids, err))
			} else {
				rep.Cancelled = ids
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Keep daemon.pid and run.json: the next start or stop tries again.
		return rep, fmt.Errorf("clean up endpoint %s: %w", p.Name, err)
	}
	if err := p.RemoveRun(); err != nil {
		return rep, fmt.Errorf("clean up endpoint %s: %w", p.Name, err)
	}
	if err := os.Remove(p.Path(PIDFile)); err != nil {
		return rep, fmt.Errorf("clean up endpoint %s: %w", p.Name, err)
	}
	return rep, nil
}

// KillRun stops every process of a run: SIGTERM, then SIGKILL for those
// still there after a grace period. It returns the processes it found.
func KillRun(ctx context.Context, runID string) ([]int, error) {
	pids := RunProcesses(runID)
	if len(pids) == 0 {
		return nil, nil
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(killGrace)
	for {
		left := RunProcesses(runID)
		if len(left) == 0 {
			return pids, nil
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			deadline = time.Now().Add(killGrace)
		}
		select {
		case <-ctx.Done():
			return pids, fmt.Errorf("stop the processes %v of run %s: %w", left, runID, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// RunProcesses returns the live processes whose initial environment holds
// FUNCX_RUN_ID=runID.
func RunProcesses(runID string) []int {
	want := []byte(EnvRunID + "=" + runID)
	self := os.Getpid()
	return procfs.Find(func(pid int, _ procfs.Stat) bool {
		if pid == self {
			return false
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			return false
		}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				return true
			}
		}
		return false
	})
}
