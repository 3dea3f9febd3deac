package provider

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by BlockManagerConfig.WithDefaults.
const (
	// DefaultScaleInterval is how often the scaler runs. Scaling reads
	// only in-memory load, so once a second is cheap.
	DefaultScaleInterval = time.Second
	// DefaultStatusInterval is how often job states are polled from the
	// scheduler. Schedulers ask not to be polled much more often (a
	// squeue per second per user is a known way to annoy Slurm admins),
	// and managers connecting tells us sooner that a block runs anyway.
	DefaultStatusInterval = 10 * time.Second
	// DefaultBlockHistory is how many ended blocks Snapshot keeps.
	DefaultBlockHistory = 100
)

// Load is what the interchange knows of the work and the managers; the
// BlockManager reads it every scaling round.
type Load struct {
	// Outstanding is the number of tasks not finished: queued or running.
	Outstanding int
	// Blocks maps a block ID to what its managers report. Blocks without
	// a connected manager may be absent.
	Blocks map[string]BlockLoad
}

// BlockLoad is the interchange's view of one block.
type BlockLoad struct {
	// Connected reports whether at least one manager of the block is
	// connected.
	Connected bool
	// Managers is the number of its managers connected.
	Managers int
	// Busy is the number of tasks in flight on the block.
	Busy int
	// IdleSince is when the block last went idle. If zero while the block
	// is connected and not busy, the BlockManager uses the first round it
	// saw the block idle.
	IdleSince time.Time
}

// BlockManagerConfig configures a BlockManager.
type BlockManagerConfig struct {
	// Provider starts and stops the blocks. Required.
	Provider Provider
	// JobTemplate returns the job for a new block; the BlockManager sets
	// its BlockID. Required.
	JobTemplate func(blockID string) Job
	// Scaling is the scaler's configuration.
	Scaling ScalingConfig
	// Load reports the current load; it is called every round and should
	// be cheap. Defaults to no load: blocks follow InitBlocks and
	// MinBlocks only.
	Load func() Load
	// Interval is the time between scaling rounds; Poke runs one at once.
	// Defaults to DefaultScaleInterval.
	Interval time.Duration
	// StatusInterval is the time between job-state polls of the
	// scheduler. Defaults to DefaultStatusInterval.
	StatusInterval time.Duration
	// History is how many ended blocks Snapshot keeps. Defaults to
	// DefaultBlockHistory.
	History int
	// Clock is the time the scaler decides with (idle times, timeouts,
	// backoff); tests move it by hand. Poll cadence uses real time.
	// Defaults to time.Now.
	Clock func() time.Time
	// Logger receives block lifecycle events. Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with unset fields defaulted.
func (c BlockManagerConfig) WithDefaults() BlockManagerConfig {
	c.Scaling = c.Scaling.WithDefaults()
	if c.Load == nil {
		c.Load = func() Load { return Load{} }
	}
	c.Interval = cmp.Or(c.Interval, DefaultScaleInterval)
	c.StatusInterval = cmp.Or(c.StatusInterval, DefaultStatusInterval)
	c.History = cmp.Or(c.History, DefaultBlockHistory)
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c BlockManagerConfig) validate() error {
	var errs []error
	if c.Provider == nil {
		errs = append(errs, errors.New("Provider is required"))
	}
	if c.JobTemplate == nil {
		errs = append(errs, errors.New("JobTemplate is required"))
	}
	if err := c.Scaling.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Scaling: %w", err))
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"Interval", c.Interval}, {"StatusInterval", c.StatusInterval}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s (%s) must not be negative", f.name, f.v))
		}
	}
	if c.History < 0 {
		errs = append(errs, fmt.Errorf("History (%d) must not be negative", c.History))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid block manager config: %w", err)
	}
	return nil
}
