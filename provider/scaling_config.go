package provider

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Defaults applied by ScalingConfig.WithDefaults.
const (
	DefaultMaxBlocks      = 1
	DefaultNodesPerBlock  = 1
	DefaultWorkersPerNode = 1
	DefaultParallelism    = 1.0
	// DefaultMaxIdleTime is Parsl's max_idletime.
	DefaultMaxIdleTime = 2 * time.Minute
	// DefaultConnectTimeout is long enough for a slow worker_init (conda
	// on a shared file system) and short enough that a block whose
	// managers cannot reach the endpoint does not burn its allocation.
	DefaultConnectTimeout = 10 * time.Minute
	// DefaultFailureBackoff is the wait after the first failed block; it
	// doubles with each further consecutive failure.
	DefaultFailureBackoff = 5 * time.Second
	// DefaultMaxFailureBackoff caps the wait between attempts.
	DefaultMaxFailureBackoff = 5 * time.Minute
)

// ScalingConfig is what the block scaler is told. Field names follow the
// funcX/Parsl options of the same meaning.
type ScalingConfig struct {
	// InitBlocks is how many blocks to start with, before there is any
	// load. Defaults to 0.
	InitBlocks int
	// MinBlocks is the fewest blocks kept, even when idle. Defaults to 0.
	MinBlocks int
	// MaxBlocks is the most blocks, pending and running together, ever
	// held at once. Defaults to DefaultMaxBlocks.
	MaxBlocks int
	// NodesPerBlock is the number of nodes in each block. Defaults to
	// DefaultNodesPerBlock.
	NodesPerBlock int
	// WorkersPerNode is the number of task slots (workers) on each node.
	// Defaults to DefaultWorkersPerNode.
	WorkersPerNode int
	// Parallelism, in (0, 1], is the ratio of slots to outstanding tasks
	// to aim for: blocks wanted = ceil(outstanding × parallelism / slots
	// per block). 1 gives every task a slot; 0.5 stacks two tasks per
	// slot before asking for more. Parsl's 0 ("one block whenever there
	// is work") is any small value such as 0.001. Defaults to
	// DefaultParallelism.
	Parallelism float64
	// MaxIdleTime is how long a block must have had no task before it is
	// scaled in, and how long an unneeded block may sit in the queue
	// before it is withdrawn. Defaults to DefaultMaxIdleTime.
	MaxIdleTime time.Duration
	// ConnectTimeout is how long a running block may go without any of
	// its managers connecting before it is cancelled as broken. It counts
	// from when the job started running, not from submission: waiting in
	// a batch queue is normal. Negative disables it. Defaults to
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// PendingTimeout is how long a block may stay pending or held before
	// it is cancelled as broken, for clouds and Kubernetes, where a pod
	// that cannot be scheduled or pull its image stays pending forever.
	// Defaults to 0: never, because long queue waits are normal on batch
	// systems.
	PendingTimeout time.Duration
	// FailureBackoff is how long to wait before submitting again after a
	// block failed; it doubles with each consecutive failure. Defaults to
	// DefaultFailureBackoff.
	FailureBackoff time.Duration
	// MaxFailureBackoff caps the backoff. Defaults to
	// DefaultMaxFailureBackoff.
	MaxFailureBackoff time.Duration
}

// WithDefaults returns a copy of c with unset fields defaulted.
func (c ScalingConfig) WithDefaults() ScalingConfig {
	c.MaxBlocks = cmp.Or(c.MaxBlocks, DefaultMaxBlocks)
	c.NodesPerBlock = cmp.Or(c.NodesPerBlock, DefaultNodesPerBlock)
	c.WorkersPerNode = cmp.Or(c.WorkersPerNode, DefaultWorkersPerNode)
	c.Parallelism = cmp.Or(c.Parallelism, DefaultParallelism)
	c.MaxIdleTime = cmp.Or(c.MaxIdleTime, DefaultMaxIdleTime)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	c.FailureBackoff = cmp.Or(c.FailureBackoff, DefaultFailureBackoff)
	c.MaxFailureBackoff = cmp.Or(c.MaxFailureBackoff, DefaultMaxFailureBackoff)
	return c
}

// Validate reports what is wrong with c once defaulted, naming the
// fields, so that a bad profile fails before anything starts.
func (c ScalingConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	nonNegative := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s (%d) must not be negative", name, v))
		}
	}
	nonNegative("InitBlocks", int64(c.InitBlocks))
	nonNegative("MinBlocks", int64(c.MinBlocks))
	nonNegative("MaxBlocks", int64(c.MaxBlocks))
	nonNegative("NodesPerBlock", int64(c.NodesPerBlock))
	nonNegative("WorkersPerNode", int64(c.WorkersPerNode))
	nonNegative("MaxIdleTime", int64(c.MaxIdleTime))
	nonNegative("PendingTimeout", int64(c.PendingTimeout))
	nonNegative("FailureBackoff", int64(c.FailureBackoff))
	nonNegative("MaxFailureBackoff", int64(c.MaxFailureBackoff))
	if c.MinBlocks > c.MaxBlocks {
		errs = append(errs, fmt.Errorf("MinBlocks (%d) must not exceed MaxBlocks (%d)", c.MinBlocks, c.MaxBlocks))
	}
	if c.InitBlocks > c.MaxBlocks {
		errs = append(errs, fmt.Errorf("InitBlocks (%d) must not exceed MaxBlocks (%d)", c.InitBlocks, c.MaxBlocks))
	}
	if !(c.Parallelism > 0 && c.Parallelism <= 1) {
		errs = append(errs, fmt.Errorf("Parallelism (%g) must be in (0, 1]", c.Parallelism))
	}
	if c.FailureBackoff > c.MaxFailureBackoff {
		errs = append(errs, fmt.Errorf("FailureBackoff (%s) must not exceed MaxFailureBackoff (%s)", c.FailureBackoff, c.MaxFailureBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid scaling config: %w", err)
	}
	return nil
}

// slotsPerBlock is how many tasks one block runs at once.
func (c ScalingConfig) slotsPerBlock() int { return c.NodesPerBlock * c.WorkersPerNode }

// backoff is the wait after the given number of consecutive failures.
func (c ScalingConfig) backoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := c.FailureBackoff
	for i := 1; i < failures && d < c.MaxFailureBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxFailureBackoff)
}
