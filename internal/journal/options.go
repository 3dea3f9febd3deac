package journal

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by Options.WithDefaults.
const (
	// DefaultMaxBatch is the most records (tasks, results or confirmed
	// IDs) one commit gathers. At a few hundred bytes a record, 8192 keep
	// one transaction to a few megabytes while making the fsync cost per
	// record negligible.
	DefaultMaxBatch = 8192
	// DefaultFlushInterval is how long the committer waits for more
	// writes after the first of a batch arrived. Zero: writers that
	// arrive while a commit is syncing already share the next one, so
	// lingering only adds latency for a lone writer (measured in
	// BenchmarkFlushInterval).
	DefaultFlushInterval = 0
	// DefaultTimeout is how long Open waits for the file lock held by
	// another process before it gives up. Long enough to ride out a
	// daemon that is still shutting down, short enough that a second
	// daemon on the same profile fails at once.
	DefaultTimeout = time.Second
	// DefaultDoneLimit is how many confirmed task IDs the recently-done
	// set keeps (about 40 bytes of memory and disk each).
	DefaultDoneLimit = 100_000
	// DefaultDoneTTL is how long a confirmed task ID stays in the
	// recently-done set. RabbitMQ redelivers an unacked task when the
	// channel closes, so a redelivery of a finished task comes minutes
	// after it ran, not days.
	DefaultDoneTTL = 24 * time.Hour
)

// Options configure a Journal. The zero value is ready to use.
type Options struct {
	// Logger receives recovery and failure events. Defaults to nil: quiet.
	Logger *slog.Logger
	// FlushInterval is how long a commit waits for more writes once the
	// first write of a batch has arrived, unless MaxBatch records are
	// already waiting. Defaults to DefaultFlushInterval (0: commit as soon
	// as the previous commit has finished).
	FlushInterval time.Duration
	// MaxBatch caps the records (tasks, results, confirmed IDs) that one
	// commit gathers from concurrent callers. A single call is never
	// split, so one call larger than MaxBatch commits alone. Defaults to
	// DefaultMaxBatch.
	MaxBatch int
	// Timeout is how long Open waits for another process to release the
	// journal's file lock; past it Open fails with ErrLocked. Defaults to
	// DefaultTimeout.
	Timeout time.Duration
	// DoneLimit caps how many confirmed task IDs are remembered to drop
	// redeliveries of finished tasks. Defaults to DefaultDoneLimit.
	DoneLimit int
	// DoneTTL is how long a confirmed task ID is remembered. Defaults to
	// DefaultDoneTTL.
	DoneTTL time.Duration
	// Clock stamps confirmations and ages the recently-done set; tests
	// move it by hand. Defaults to time.Now.
	Clock func() time.Time

	// freelistSync writes bbolt's freelist on every commit, for the
	// benchmark that shows why the journal does not.
	freelistSync bool
}

// WithDefaults returns a copy of o with unset fields defaulted.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.FlushInterval = cmp.Or(o.FlushInterval, DefaultFlushInterval)
	o.MaxBatch = cmp.Or(o.MaxBatch, DefaultMaxBatch)
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.DoneLimit = cmp.Or(o.DoneLimit, DefaultDoneLimit)
	o.DoneTTL = cmp.Or(o.DoneTTL, DefaultDoneTTL)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"FlushInterval", o.FlushInterval}, {"Timeout", o.Timeout}, {"DoneTTL", o.DoneTTL}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s (%s) must not be negative", f.name, f.v))
		}
	}
	if o.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("MaxBatch (%d) must not be negative", o.MaxBatch))
	}
	if o.DoneLimit < 0 {
		errs = append(errs, fmt.Errorf("DoneLimit (%d) must not be negative", o.DoneLimit))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid journal options: %w", err)
	}
	return nil
}
