package slurm_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
	"github.com/funcx-go/funcx/provider/slurm"
)

// A job that leaves the queue without its block ever connecting is
// missing, and the BlockManager counts it as a failed block, never as a
// completed one.
func TestVanishedJobIsMissingBlock(t *testing.T) {
	var gone atomic.Bool
	r := &providertest.FakeRunner{Handler: func(_ context.Context, c providertest.RunCall) (provider.RunResult, error) {
		switch c.Name {
		case "sbatch":
			return provider.RunResult{Stdout: []byte("77\n")}, nil
		case "squeue":
			if gone.Load() {
				// squeue forgot it (MinJobAge passed; no accounting).
				const stderr = "slurm_load_jobs error: Invalid job id specified\n"
				return provider.RunResult{Stderr: []byte(stderr), ExitCode: 1}, commandError("squeue", 1, stderr)
			}
			return provider.RunResult{Stdout: []byte("77|RUNNING|None|0|0:05|UNLIMITED|/x|\n")}, nil
		}
		return provider.RunResult{}, nil
	}}
	p, err := slurm.New(slurm.Config{Runner: r, StatusCommand: slurm.StatusSqueue})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := provider.NewBlockManager(provider.BlockManagerConfig{
		Provider:       p,
		JobTemplate:    func(string) provider.Job { return provider.Job{Command: "exec manager", ScriptDir: dir} },
		Scaling:        provider.ScalingConfig{InitBlocks: 1, MaxBlocks: 1},
		Interval:       10 * time.Millisecond,
		StatusInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	providertest.WaitFor(t, 10*time.Second, "the block to run", func() bool {
		b := m.Snapshot().Blocks
		return len(b) > 0 && b[0].State == provider.JobRunning
	})
	gone.Store(true)
	providertest.WaitFor(t, 10*time.Second, "the block to end", func() bool {
		return m.Snapshot().Blocks[0].State.Terminal()
	})
	s := m.Snapshot()
	b := s.Blocks[0]
	if b.State != provider.JobMissing || !strings.Contains(b.Message, "no record") || !strings.Contains(b.Message, "no manager of the block ever connected") {
		t.Errorf("vanished block: %s %q; want missing, saying Slurm has no record and no manager connected", b.State, b.Message)
	}
	if s.ConsecutiveFailures < 1 {
		t.Errorf("vanished block did not count as a failure: %+v", s)
	}
}
