package provider_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// The scaler's clock in these tests: blocks are described by how long
// ago things happened.
var scalerNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func ago(d time.Duration) time.Time { return scalerNow.Add(-d) }

func pendingBlock(id string, submittedAgo time.Duration) provider.BlockInfo {
	return provider.BlockInfo{ID: id, JobID: provider.JobID("j" + id), State: provider.JobPending, SubmittedAt: ago(submittedAgo)}
}

// startedBlock is running but none of its managers has connected.
func startedBlock(id string, startedAgo time.Duration) provider.BlockInfo {
	b := pendingBlock(id, startedAgo+time.Hour)
	b.State, b.StartedAt = provider.JobRunning, ago(startedAgo)
	return b
}

// busyBlock is connected with tasks in flight.
func busyBlock(id string, busy int) provider.BlockInfo {
	b := startedBlock(id, 2*time.Hour)
	b.Connected, b.ConnectedAt, b.Busy = true, ago(time.Hour), busy
	return b
}

// idleBlock is connected, with no task for idleFor.
func idleBlock(id string, idleFor time.Duration) provider.BlockInfo {
	b := busyBlock(id, 0)
	b.IdleSince = ago(idleFor)
	return b
}

func withState(b provider.BlockInfo, s provider.JobState) provider.BlockInfo {
	b.State = s
	return b
}

func cancelling(b provider.BlockInfo) provider.BlockInfo {
	b.Cancelling = true
	return b
}

func TestPlan(t *testing.T) {
	t.Parallel()
	// Four slots per block, a minute of idleness, five minutes to connect,
	// backoff 10 s doubling to 160 s.
	base := provider.ScalingConfig{
		MaxBlocks:         10,
		WorkersPerNode:    4,
		MaxIdleTime:       time.Minute,
		ConnectTimeout:    5 * time.Minute,
		FailureBackoff:    10 * time.Second,
		MaxFailureBackoff: 160 * time.Second,
	}
	type want struct {
		submit       int
		cancel       []string // block IDs, in order
		failures     []string // those of cancel that are failures
		backoffUntil time.Time
	}
	tests := []struct {
		name string
		cfg  func(*provider.ScalingConfig)
		in   provider.ScalerInput
		want want
	}{
		// init_blocks
		{
			name: "init blocks at start",
			cfg:  func(c *provider.ScalingConfig) { c.InitBlocks = 2 },
			want: want{submit: 2},
		},
		{
			name: "init blocks are not resubmitted once submitted",
			cfg:  func(c *provider.ScalingConfig) { c.InitBlocks = 2 },
			in:   provider.ScalerInput{Submitted: 2},
		},
		{
			name: "init blocks are completed after a partial start",
			cfg:  func(c *provider.ScalingConfig) { c.InitBlocks = 2 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{pendingBlock("0", time.Second)}},
			want: want{submit: 1},
		},
		{
			name: "init blocks capped by max blocks",
			cfg:  func(c *provider.ScalingConfig) { c.InitBlocks, c.MaxBlocks = 5, 3 },
			want: want{submit: 3},
		},
		// min_blocks
		{
			name: "min blocks kept without load",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 2 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{idleBlock("0", time.Hour)}},
			want: want{submit: 1},
		},
		{
			name: "min blocks replaced after they end",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in: provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{
				withState(idleBlock("0", time.Hour), provider.JobTimeout),
			}},
			want: want{submit: 1},
		},
		// scale out
		{
			name: "scale out on backlog",
			in:   provider.ScalerInput{Outstanding: 10},
			want: want{submit: 3},
		},
		{
			name: "parallelism stacks tasks per slot",
			cfg:  func(c *provider.ScalingConfig) { c.Parallelism = 0.5 },
			in:   provider.ScalerInput{Outstanding: 10},
			want: want{submit: 2},
		},
		{
			name: "tiny parallelism asks for one block",
			cfg:  func(c *provider.ScalingConfig) { c.Parallelism = 0.001 },
			in:   provider.ScalerInput{Outstanding: 100},
			want: want{submit: 1},
		},
		{
			name: "slots count nodes per block",
			cfg:  func(c *provider.ScalingConfig) { c.NodesPerBlock = 2 },
			in:   provider.ScalerInput{Outstanding: 17},
			want: want{submit: 3},
		},
		{
			name: "pending blocks count before submitting more",
			in: provider.ScalerInput{Outstanding: 10, Submitted: 2, Blocks: []provider.BlockInfo{
				pendingBlock("0", time.Second), pendingBlock("1", time.Second),
			}},
			want: want{submit: 1},
		},
		{
			name: "pending blocks cover the backlog",
			in: provider.ScalerInput{Outstanding: 8, Submitted: 2, Blocks: []provider.BlockInfo{
				pendingBlock("0", time.Second), withState(pendingBlock("1", time.Second), provider.JobHeld),
			}},
		},
		{
			name: "started unconnected and unknown blocks count as capacity",
			in: provider.ScalerInput{Outstanding: 8, Submitted: 2, Blocks: []provider.BlockInfo{
				startedBlock("0", time.Second), withState(pendingBlock("1", time.Second), provider.JobUnknown),
			}},
		},
		// max_blocks
		{
			name: "never exceed max blocks",
			cfg:  func(c *provider.ScalingConfig) { c.MaxBlocks = 3 },
			in:   provider.ScalerInput{Outstanding: 100, Submitted: 1, Blocks: []provider.BlockInfo{busyBlock("0", 4)}},
			want: want{submit: 2},
		},
		{
			name: "max blocks counts pending and running",
			cfg:  func(c *provider.ScalingConfig) { c.MaxBlocks = 3 },
			in: provider.ScalerInput{Outstanding: 100, Submitted: 3, Blocks: []provider.BlockInfo{
				pendingBlock("0", time.Second), pendingBlock("1", time.Second), busyBlock("2", 4),
			}},
		},
		{
			name: "cancelling blocks count against max blocks",
			cfg:  func(c *provider.ScalingConfig) { c.MaxBlocks = 2 },
			in: provider.ScalerInput{Outstanding: 100, Submitted: 2, Blocks: []provider.BlockInfo{
				busyBlock("0", 4), cancelling(idleBlock("1", time.Hour)),
			}},
		},
		{
			name: "cancelling blocks are not capacity",
			cfg:  func(c *provider.ScalingConfig) { c.MaxBlocks = 3 },
			in: provider.ScalerInput{Outstanding: 100, Submitted: 2, Blocks: []provider.BlockInfo{
				busyBlock("0", 4), cancelling(idleBlock("1", time.Hour)),
			}},
			want: want{submit: 1},
		},
		{
			name: "terminal blocks are not counted",
			cfg:  func(c *provider.ScalingConfig) { c.MaxBlocks = 3 },
			in: provider.ScalerInput{Outstanding: 100, Submitted: 6, Blocks: []provider.BlockInfo{
				withState(busyBlock("0", 4), provider.JobCompleted),
				withState(busyBlock("1", 4), provider.JobTimeout),
				withState(busyBlock("2", 4), provider.JobCancelled),
				withState(busyBlock("3", 4), provider.JobScaledIn),
				withState(pendingBlock("4", time.Hour), provider.JobMissing),
				withState(idleBlock("5", time.Hour), provider.JobFailed),
			}},
			want: want{submit: 3},
		},
		// scale in
		{
			name: "scale in blocks idle past max idle time",
			in: provider.ScalerInput{Submitted: 2, Blocks: []provider.BlockInfo{
				idleBlock("0", 2*time.Minute), idleBlock("1", time.Minute),
			}},
			want: want{cancel: []string{"0", "1"}},
		},
		{
			name: "keep blocks idle for less than max idle time",
			in: provider.ScalerInput{Submitted: 2, Blocks: []provider.BlockInfo{
				idleBlock("0", 59*time.Second), idleBlock("1", time.Second),
			}},
		},
		{
			name: "never scale in below min blocks, longest idle first",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in: provider.ScalerInput{Submitted: 3, Blocks: []provider.BlockInfo{
				idleBlock("0", 2*time.Minute), idleBlock("1", 5*time.Minute), idleBlock("2", 3*time.Minute),
			}},
			want: want{cancel: []string{"1", "2"}},
		},
		{
			name: "scale in only down to what the load needs",
			in: provider.ScalerInput{Outstanding: 8, Submitted: 3, Blocks: []provider.BlockInfo{
				busyBlock("0", 8), idleBlock("1", 2*time.Minute), idleBlock("2", 3*time.Minute),
			}},
			want: want{cancel: []string{"2"}},
		},
		{
			name: "never scale in a block with tasks in flight",
			in: provider.ScalerInput{Submitted: 2, Blocks: []provider.BlockInfo{
				busyBlock("0", 1), idleBlock("1", time.Hour),
			}},
			want: want{cancel: []string{"1"}},
		},
		{
			name: "a busy block with a stale idle time is still busy",
			in: provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{
				func() provider.BlockInfo { b := idleBlock("0", time.Hour); b.Busy = 2; return b }(),
			}},
		},
		{
			name: "never scale in a started block that has not connected yet",
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{startedBlock("0", time.Minute)}},
		},
		{
			name: "unneeded queued blocks are withdrawn, newest first",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in: provider.ScalerInput{Submitted: 4, Blocks: []provider.BlockInfo{
				pendingBlock("0", 3*time.Minute), pendingBlock("1", 2*time.Minute),
				pendingBlock("2", 10*time.Second), withState(pendingBlock("3", 5*time.Minute), provider.JobHeld),
			}},
			want: want{cancel: []string{"1", "0", "3"}},
		},
		{
			name: "queued blocks go before idle ones",
			in: provider.ScalerInput{Outstanding: 4, Submitted: 2, Blocks: []provider.BlockInfo{
				idleBlock("0", time.Hour), pendingBlock("1", time.Hour),
			}},
			want: want{cancel: []string{"1"}},
		},
		// broken blocks
		{
			name: "cancel a block that never connected within the connect timeout",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{startedBlock("0", 5*time.Minute)}},
			want: want{cancel: []string{"0"}, failures: []string{"0"}},
		},
		{
			name: "connect timeout counts from start, not submission",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{startedBlock("0", 4*time.Minute)}},
		},
		{
			name: "connect timeout from submission when the start was not seen",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in: provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{
				func() provider.BlockInfo { b := startedBlock("0", 0); b.StartedAt = time.Time{}; return b }(),
			}},
			want: want{cancel: []string{"0"}, failures: []string{"0"}},
		},
		{
			name: "connect timeout disabled",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks, c.ConnectTimeout = 1, -1 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{startedBlock("0", 24*time.Hour)}},
		},
		{
			name: "a block that connected once is not broken",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in: provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{
				func() provider.BlockInfo { b := busyBlock("0", 0); b.Connected = false; return b }(),
			}},
		},
		{
			name: "queue waits are not broken by default",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{pendingBlock("0", 48*time.Hour)}},
		},
		{
			name: "pending timeout cancels a stuck block",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks, c.PendingTimeout = 1, 10*time.Minute },
			in: provider.ScalerInput{Submitted: 2, Blocks: []provider.BlockInfo{
				pendingBlock("0", 11*time.Minute), withState(pendingBlock("1", 9*time.Minute), provider.JobHeld),
			}},
			want: want{cancel: []string{"0"}, failures: []string{"0"}},
		},
		{
			name: "nothing submitted while broken blocks are cancelled",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 2 },
			in:   provider.ScalerInput{Submitted: 1, Blocks: []provider.BlockInfo{startedBlock("0", time.Hour)}},
			want: want{cancel: []string{"0"}, failures: []string{"0"}},
		},
		// backoff
		{
			name: "back off after a failure",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in:   provider.ScalerInput{Submitted: 1, ConsecutiveFailures: 1, LastFailureAt: ago(5 * time.Second)},
			want: want{backoffUntil: ago(-5 * time.Second)},
		},
		{
			name: "submit again once the backoff has passed",
			cfg:  func(c *provider.ScalingConfig) { c.MinBlocks = 1 },
			in:   provider.ScalerInput{Submitted: 1, ConsecutiveFailures: 1, LastFailureAt: ago(10 * time.Second)},
			want: want{submit: 1},
		},
		{
			name: "backoff doubles with each failure",
			in:   provider.ScalerInput{Outstanding: 1, ConsecutiveFailures: 3, LastFailureAt: ago(30 * time.Second)},
			want: want{backoffUntil: ago(-10 * time.Second)},
		},
		{
			name: "backoff is capped",
			in:   provider.ScalerInput{Outstanding: 1, ConsecutiveFailures: 50, LastFailureAt: ago(100 * time.Second)},
			want: want{backoffUntil: ago(-60 * time.Second)},
		},
		{
			name: "capped backoff passes",
			in:   provider.ScalerInput{Outstanding: 1, ConsecutiveFailures: 50, LastFailureAt: ago(160 * time.Second)},
			want: want{submit: 1},
		},
		{
			name: "backoff holds init blocks too",
			cfg:  func(c *provider.ScalingConfig) { c.InitBlocks = 1 },
			in:   provider.ScalerInput{ConsecutiveFailures: 1, LastFailureAt: ago(time.Second)},
			want: want{backoffUntil: ago(-9 * time.Second)},
		},
		{
			name: "backoff does not stop scale in",
			in: provider.ScalerInput{Submitted: 1, ConsecutiveFailures: 2, LastFailureAt: ago(time.Second), Blocks: []provider.BlockInfo{
				idleBlock("0", time.Hour),
			}},
			want: want{cancel: []string{"0"}},
		},
		{
			name: "steady",
			in: provider.ScalerInput{Outstanding: 8, Submitted: 2, Blocks: []provider.BlockInfo{
				busyBlock("0", 4), busyBlock("1", 4),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := base
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			in := tt.in
			in.Blocks = slices.Clone(in.Blocks)
			d := provider.Plan(cfg, in, scalerNow)
			if d.Submit != tt.want.submit {
				t.Errorf("Submit = %d, want %d (%s)", d.Submit, tt.want.submit, d.Reason)
			}
			var cancel, failures []string
			for _, c := range d.Cancel {
				cancel = append(cancel, c.BlockID)
				if c.Failure {
					failures = append(failures, c.BlockID)
				}
				if c.Reason == "" {
					t.Errorf("cancellation of %s has no reason", c.BlockID)
				}
			}
			if !slices.Equal(cancel, tt.want.cancel) || !slices.Equal(failures, tt.want.failures) {
				t.Errorf("Cancel = %v (failures %v), want %v (failures %v) (%s)", cancel, failures, tt.want.cancel, tt.want.failures, d.Reason)
			}
			if !d.BackoffUntil.Equal(tt.want.backoffUntil) {
				t.Errorf("BackoffUntil = %s, want %s (%s)", d.BackoffUntil, tt.want.backoffUntil, d.Reason)
			}
			if d.Reason == "" {
				t.Error("decision has no reason")
			}
			if !slices.EqualFunc(in.Blocks, tt.in.Blocks, func(a, b provider.BlockInfo) bool { return a == b }) {
				t.Error("Plan modified its input")
			}
		})
	}
}

func TestPlanIsPure(t *testing.T) {
	t.Parallel()
	cfg := provider.ScalingConfig{MaxBlocks: 5, MinBlocks: 1}
	in := provider.ScalerInput{Outstanding: 3, Submitted: 2, Blocks: []provider.BlockInfo{
		idleBlock("b", time.Hour), pendingBlock("a", time.Hour), idleBlock("c", time.Hour),
	}}
	first := provider.Plan(cfg, in, scalerNow)
	slices.Reverse(in.Blocks)
	second := provider.Plan(cfg, in, scalerNow)
	if first.Submit != second.Submit || first.Reason != second.Reason ||
		!slices.Equal(first.Cancel, second.Cancel) {
		t.Errorf("block order changed the decision:\n%+v\n%+v", first, second)
	}
}

func TestScalingConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     provider.ScalingConfig
		wantErr string
	}{
		{"zero value is valid", provider.ScalingConfig{}, ""},
		{"typical", provider.ScalingConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 4, Parallelism: 0.5}, ""},
		{"min above max", provider.ScalingConfig{MinBlocks: 3, MaxBlocks: 2}, "MinBlocks (3) must not exceed MaxBlocks (2)"},
		{"init above max", provider.ScalingConfig{InitBlocks: 3}, "InitBlocks (3) must not exceed MaxBlocks (1)"},
		{"negative min", provider.ScalingConfig{MinBlocks: -1}, "MinBlocks (-1)"},
		{"parallelism above one", provider.ScalingConfig{Parallelism: 1.5}, "Parallelism (1.5)"},
		{"negative parallelism", provider.ScalingConfig{Parallelism: -0.1}, "Parallelism (-0.1)"},
		{"negative idle time", provider.ScalingConfig{MaxIdleTime: -time.Second}, "MaxIdleTime"},
		{"backoff above cap", provider.ScalingConfig{FailureBackoff: time.Hour}, "FailureBackoff (1h0m0s) must not exceed MaxFailureBackoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestScalingConfigWithDefaults(t *testing.T) {
	t.Parallel()
	got := provider.ScalingConfig{MinBlocks: 2}.WithDefaults()
	want := provider.ScalingConfig{
		MinBlocks:         2,
		MaxBlocks:         provider.DefaultMaxBlocks,
		NodesPerBlock:     provider.DefaultNodesPerBlock,
		WorkersPerNode:    provider.DefaultWorkersPerNode,
		Parallelism:       provider.DefaultParallelism,
		MaxIdleTime:       provider.DefaultMaxIdleTime,
		ConnectTimeout:    provider.DefaultConnectTimeout,
		FailureBackoff:    provider.DefaultFailureBackoff,
		MaxFailureBackoff: provider.DefaultMaxFailureBackoff,
	}
	if got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
}
