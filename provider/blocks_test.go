package provider_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// loadBox holds the load the interchange would report.
type loadBox struct {
	mu   sync.Mutex
	load provider.Load
}

func (l *loadBox) Get() provider.Load {
	l.mu.Lock()
	defer l.mu.Unlock()
	blocks := make(map[string]provider.BlockLoad, len(l.load.Blocks))
	for k, v := range l.load.Blocks {
		blocks[k] = v
	}
	return provider.Load{Outstanding: l.load.Outstanding, Blocks: blocks}
}

func (l *loadBox) SetOutstanding(n int) {
	l.mu.Lock()
	l.load.Outstanding = n
	l.mu.Unlock()
}

func (l *loadBox) SetBlock(id string, bl provider.BlockLoad) {
	l.mu.Lock()
	if l.load.Blocks == nil {
		l.load.Blocks = map[string]provider.BlockLoad{}
	}
	l.load.Blocks[id] = bl
	l.mu.Unlock()
}

type blocksBundle struct {
	m     *provider.BlockManager
	fake  *providertest.Fake
	clock *fakeClock
	load  *loadBox
}

// setupBlocks returns a BlockManager on a Fake, not started, with a
// frozen clock, a status poll every round and a round every few ms. It is
// stopped at cleanup.
func setupBlocks(t *testing.T, scaling provider.ScalingConfig, mutate ...func(*provider.BlockManagerConfig)) *blocksBundle {
	t.Helper()
	b := &blocksBundle{
		fake:  providertest.NewFake(providertest.FakeConfig{}),
		clock: &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		load:  &loadBox{},
	}
	cfg := provider.BlockManagerConfig{
		Provider:       b.fake,
		JobTemplate:    func(id string) provider.Job { return provider.Job{Command: "funcx-manager --block " + id} },
		Scaling:        scaling,
		Load:           b.load.Get,
		Interval:       5 * time.Millisecond,
		StatusInterval: time.Nanosecond,
		Clock:          b.clock.Now,
	}
	for _, f := range mutate {
		f(&cfg)
	}
	if cfg.Provider == nil {
		cfg.Provider = b.fake
	}
	m, err := provider.NewBlockManager(cfg)
	if err != nil {
		t.Fatalf("NewBlockManager: %v", err)
	}
	b.m = m
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return b
}

func (b *blocksBundle) start(t *testing.T) {
	t.Helper()
	if err := b.m.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// waitSnapshot polls Snapshot until cond holds, for up to 10 s.
func (b *blocksBundle) waitSnapshot(t *testing.T, what string, cond func(provider.Snapshot) bool) provider.Snapshot {
	t.Helper()
	var s provider.Snapshot
	providertest.WaitFor(t, 10*time.Second, what, func() bool {
		s = b.m.Snapshot()
		return cond(s)
	})
	return s
}

func blockIn(s provider.Snapshot, id string, state provider.JobState) bool {
	for _, b := range s.Blocks {
		if b.ID == id {
			return b.State == state
		}
	}
	return false
}

func findBlock(t *testing.T, s provider.Snapshot, id string) provider.BlockSnapshot {
	t.Helper()
	for _, b := range s.Blocks {
		if b.ID == id {
			return b
		}
	}
	t.Fatalf("no block %s in %+v", id, s)
	return provider.BlockSnapshot{}
}

func TestBlockManager(t *testing.T) {
	t.Parallel()

	t.Run("start submits init blocks and stop cancels them", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{InitBlocks: 2, MaxBlocks: 4})
		b.start(t)
		// The first round runs inside Start.
		jobs := b.fake.Jobs()
		if len(jobs) != 2 {
			t.Fatalf("after Start the scheduler has %d jobs, want 2", len(jobs))
		}
		for i, j := range jobs {
			if want := []string{"0", "1"}[i]; j.Job.BlockID != want || j.Job.Command != "funcx-manager --block "+want {
				t.Errorf("job %d is %+v", i, j.Job)
			}
		}
		if err := b.m.Stop(context.Background()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if n := b.fake.Active(); n != 0 {
			t.Errorf("%d jobs still active after Stop", n)
		}
		for _, bl := range b.m.Snapshot().Blocks {
			if bl.State != provider.JobCancelled || bl.EndedAt.IsZero() {
				t.Errorf("block %s is %s after Stop", bl.ID, bl.State)
			}
		}
	})

	t.Run("start fails with the scheduler's error", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{InitBlocks: 1})
		b.fake.FailSubmit(errors.New("sbatch: error: invalid partition specified: nope"), -1)
		err := b.m.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "invalid partition specified: nope") {
			t.Fatalf("Start = %v, want the scheduler's error", err)
		}
		s := b.m.Snapshot()
		bl := findBlock(t, s, "0")
		if bl.State != provider.JobFailed || !strings.Contains(bl.Message, "invalid partition") || bl.JobID != "" {
			t.Errorf("refused block in snapshot: %+v", bl)
		}
		if !strings.Contains(s.LastError, "invalid partition") || s.ConsecutiveFailures != 1 {
			t.Errorf("snapshot: last error %q, failures %d", s.LastError, s.ConsecutiveFailures)
		}
		if err := b.m.Start(context.Background()); err == nil {
			t.Error("a second Start after a failed one succeeded")
		}
	})

	t.Run("failed start cancels what it submitted", func(t *testing.T) {
		t.Parallel()
		fake := providertest.NewFake(providertest.FakeConfig{})
		b := setupBlocks(t, provider.ScalingConfig{InitBlocks: 2, MaxBlocks: 2}, func(c *provider.BlockManagerConfig) {
			c.Provider = &failNthSubmit{Fake: fake, n: 2, err: errors.New("qsub: quota exceeded")}
		})
		if err := b.m.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "quota exceeded") {
			t.Fatalf("Start = %v", err)
		}
		if jobs := fake.Jobs(); len(jobs) != 1 || !jobs[0].Cancelled || fake.Active() != 0 {
			t.Errorf("after a failed start the scheduler has %+v", jobs)
		}
	})

	t.Run("scales out on load and counts pending blocks", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{MaxBlocks: 5, WorkersPerNode: 4},
			func(c *provider.BlockManagerConfig) { c.Interval = time.Hour })
		m := b.m
		b.start(t)
		if s := m.Snapshot(); len(s.Blocks) != 0 {
			t.Fatalf("blocks without load: %+v", s.Blocks)
		}
		b.load.SetOutstanding(8)
		m.Poke()
		b.waitSnapshot(t, "two blocks", func(s provider.Snapshot) bool { return len(s.Blocks) == 2 })
		// More rounds with the same load submit nothing more.
		for range 3 {
			m.Poke()
			time.Sleep(10 * time.Millisecond)
		}
		if s := m.Snapshot(); len(s.Blocks) != 2 {
			t.Errorf("%d blocks for 8 tasks in 4-slot blocks, want 2", len(s.Blocks))
		}
	})

	t.Run("scales in idle blocks after max idle time", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{InitBlocks: 2, MinBlocks: 1, MaxBlocks: 2, MaxIdleTime: time.Minute})
		b.start(t)
		b.load.SetBlock("0", provider.BlockLoad{Connected: true, Managers: 1})
		b.load.SetBlock("1", provider.BlockLoad{Connected: true, Managers: 1, Busy: 1})
		b.waitSnapshot(t, "blocks connected", func(s provider.Snapshot) bool {
			return len(s.Blocks) == 2 && s.Blocks[0].Connected && s.Blocks[1].Connected
		})
		b.clock.Advance(2 * time.Minute)
		s := b.waitSnapshot(t, "idle block scaled in", func(s provider.Snapshot) bool { return blockIn(s, "0", provider.JobScaledIn) })
		if bl := findBlock(t, s, "0"); !strings.Contains(bl.Message, "idle for") {
			t.Errorf("scaled-in block's message %q", bl.Message)
		}
		// The busy block stays; so does the minimum.
		b.load.SetBlock("1", provider.BlockLoad{Connected: true, Managers: 1})
		b.clock.Advance(time.Hour)
		time.Sleep(50 * time.Millisecond)
		if s := b.m.Snapshot(); !blockIn(s, "1", provider.JobRunning) {
			t.Errorf("the last block went below MinBlocks: %+v", s.Blocks)
		}
	})

	t.Run("failed block is visible and backs off", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{MinBlocks: 1, FailureBackoff: time.Minute, MaxFailureBackoff: time.Hour})
		b.start(t)
		jobID := b.fake.Jobs()[0].ID
		if err := b.fake.SetState(jobID, provider.JobFailed, "exit status 1: ModuleNotFoundError: funcx"); err != nil {
			t.Fatal(err)
		}
		s := b.waitSnapshot(t, "backing off", func(s provider.Snapshot) bool { return !s.BackoffUntil.IsZero() })
		bl := findBlock(t, s, "0")
		if bl.State != provider.JobFailed || !strings.Contains(bl.Message, "ModuleNotFoundError") || !strings.Contains(bl.Message, "no manager") {
			t.Errorf("failed block: %+v", bl)
		}
		if s.ConsecutiveFailures != 1 || !s.BackoffUntil.Equal(b.clock.Now().Add(time.Minute)) {
			t.Errorf("failures %d, backoff until %s", s.ConsecutiveFailures, s.BackoffUntil)
		}
		time.Sleep(50 * time.Millisecond)
		if n := len(b.fake.Jobs()); n != 1 {
			t.Fatalf("%d jobs submitted during backoff, want 1", n)
		}
		b.clock.Advance(time.Minute)
		b.waitSnapshot(t, "a replacement block", func(s provider.Snapshot) bool { return len(s.Blocks) == 2 })
	})

	t.Run("refused submission backs off instead of storming", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{MaxBlocks: 3})
		b.start(t)
		b.fake.FailSubmit(errors.New("sbatch: error: Batch job submission failed: Invalid account"), -1)
		b.load.SetOutstanding(100)
		s := b.waitSnapshot(t, "backing off", func(s provider.Snapshot) bool { return !s.BackoffUntil.IsZero() })
		if !strings.Contains(s.LastError, "Invalid account") || !strings.Contains(s.Blocks[0].Message, "Invalid account") {
			t.Errorf("snapshot hides the scheduler error: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
		if n := b.fake.Calls().Submit; n != 1 {
			t.Errorf("%d Submit calls while backing off, want 1", n)
		}
	})

	t.Run("cancels blocks that never connect", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{MinBlocks: 1, ConnectTimeout: time.Minute})
		b.start(t)
		b.waitSnapshot(t, "running", func(s provider.Snapshot) bool { return blockIn(s, "0", provider.JobRunning) })
		b.clock.Advance(2 * time.Minute)
		s := b.waitSnapshot(t, "broken block cancelled", func(s provider.Snapshot) bool { return blockIn(s, "0", provider.JobFailed) })
		if bl := findBlock(t, s, "0"); !strings.Contains(bl.Message, "no manager connected within 1m0s") {
			t.Errorf("message %q", bl.Message)
		}
		if s.ConsecutiveFailures != 1 || !b.fake.Jobs()[0].Cancelled {
			t.Errorf("failures %d, job %+v", s.ConsecutiveFailures, b.fake.Jobs()[0])
		}
	})

	t.Run("a connecting block resets the failure count", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{MinBlocks: 1, FailureBackoff: time.Second, MaxFailureBackoff: time.Second})
		b.start(t)
		_ = b.fake.SetState(b.fake.Jobs()[0].ID, provider.JobMissing, "")
		b.waitSnapshot(t, "a failure", func(s provider.Snapshot) bool { return s.ConsecutiveFailures == 1 })
		b.clock.Advance(time.Second)
		b.waitSnapshot(t, "a replacement", func(s provider.Snapshot) bool { return len(s.Blocks) == 2 })
		b.load.SetBlock("1", provider.BlockLoad{Connected: true, Managers: 1})
		s := b.waitSnapshot(t, "failures reset", func(s provider.Snapshot) bool { return s.ConsecutiveFailures == 0 })
		if bl := findBlock(t, s, "1"); !bl.Connected || bl.ConnectedAt.IsZero() || bl.State != provider.JobRunning {
			t.Errorf("connected block: %+v", bl)
		}
	})

	t.Run("a block that ran and ended is replaced without backoff", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{MinBlocks: 1}, func(c *provider.BlockManagerConfig) { c.History = 1 })
		b.start(t)
		for i := range 3 {
			id := []string{"0", "1", "2"}[i]
			b.load.SetBlock(id, provider.BlockLoad{Connected: true, Managers: 1})
			s := b.waitSnapshot(t, "block "+id+" connected", func(s provider.Snapshot) bool {
				return len(s.Blocks) > 0 && s.Blocks[len(s.Blocks)-1].ID == id && s.Blocks[len(s.Blocks)-1].Connected
			})
			_ = b.fake.SetState(s.Blocks[len(s.Blocks)-1].JobID, provider.JobTimeout, "walltime")
		}
		s := b.waitSnapshot(t, "fourth block", func(s provider.Snapshot) bool {
			return len(s.Blocks) == 2 && s.Blocks[1].ID == "3"
		})
		if s.Blocks[0].ID != "2" || s.Blocks[0].State != provider.JobTimeout || s.ConsecutiveFailures != 0 {
			t.Errorf("history: %+v, failures %d", s.Blocks, s.ConsecutiveFailures)
		}
	})

	t.Run("status errors are kept and retried", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{InitBlocks: 1})
		b.fake.FailStatus(errors.New("squeue: error: slurm_receive_msg: Socket timed out"))
		b.start(t)
		b.waitSnapshot(t, "the status error", func(s provider.Snapshot) bool { return strings.Contains(s.LastError, "Socket timed out") })
		b.fake.FailStatus(nil)
		b.waitSnapshot(t, "running", func(s provider.Snapshot) bool { return blockIn(s, "0", provider.JobRunning) })
	})
}

func TestBlockManagerLifecycle(t *testing.T) {
	t.Parallel()

	t.Run("stop before start and twice", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{})
		for range 2 {
			if err := b.m.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}
		if err := b.m.Start(context.Background()); err == nil {
			t.Error("Start after Stop succeeded")
		}
	})

	t.Run("start twice", func(t *testing.T) {
		t.Parallel()
		b := setupBlocks(t, provider.ScalingConfig{})
		b.start(t)
		if err := b.m.Start(context.Background()); !errors.Is(err, provider.ErrAlreadyStarted) {
			t.Errorf("second Start = %v", err)
		}
	})

	t.Run("stop gives up at its deadline and can resume", func(t *testing.T) {
		t.Parallel()
		fake := providertest.NewFake(providertest.FakeConfig{})
		slow := &lingering{Fake: fake}
		b := setupBlocks(t, provider.ScalingConfig{InitBlocks: 1}, func(c *provider.BlockManagerConfig) { c.Provider = slow })
		b.start(t)
		slow.linger(true)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := b.m.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want a deadline error", err)
		}
		slow.linger(false)
		if err := b.m.Stop(context.Background()); err != nil {
			t.Fatalf("second Stop = %v", err)
		}
		if s := b.m.Snapshot(); !blockIn(s, "0", provider.JobCancelled) {
			t.Errorf("block after Stop: %+v", s.Blocks)
		}
	})
}

func TestNewBlockManagerValidates(t *testing.T) {
	t.Parallel()
	fake := providertest.NewFake(providertest.FakeConfig{})
	tmpl := func(string) provider.Job { return provider.Job{Command: "x"} }
	tests := []struct {
		name    string
		cfg     provider.BlockManagerConfig
		wantErr string
	}{
		{"no provider", provider.BlockManagerConfig{JobTemplate: tmpl}, "Provider is required"},
		{"no template", provider.BlockManagerConfig{Provider: fake}, "JobTemplate is required"},
		{"bad scaling", provider.BlockManagerConfig{Provider: fake, JobTemplate: tmpl, Scaling: provider.ScalingConfig{MinBlocks: 5}}, "Scaling: invalid scaling config: MinBlocks (5)"},
		{"negative interval", provider.BlockManagerConfig{Provider: fake, JobTemplate: tmpl, Interval: -1}, "Interval"},
		{"negative history", provider.BlockManagerConfig{Provider: fake, JobTemplate: tmpl, History: -1}, "History"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := provider.NewBlockManager(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewBlockManager = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// failNthSubmit fails the n-th Submit (1-based).
type failNthSubmit struct {
	*providertest.Fake
	mu    sync.Mutex
	n     int
	calls int
	err   error
}

func (f *failNthSubmit) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls == f.n
	f.mu.Unlock()
	if fail {
		return "", f.err
	}
	return f.Fake.Submit(ctx, j)
}

// lingering reports cancelled jobs as still running while lingering, like
// a scheduler slow to clean up.
type lingering struct {
	*providertest.Fake
	mu sync.Mutex
	on bool
}

func (l *lingering) linger(on bool) {
	l.mu.Lock()
	l.on = on
	l.mu.Unlock()
}

func (l *lingering) Status(ctx context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	sts, err := l.Fake.Status(ctx, ids)
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range sts {
		if l.on && sts[i].State == provider.JobCancelled {
			sts[i].State = provider.JobRunning
		}
	}
	return sts, err
}
