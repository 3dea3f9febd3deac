package provider

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// BlockInfo is what the scaler knows of one block.
type BlockInfo struct {
	ID    string
	JobID JobID
	State JobState
	// SubmittedAt is when the block was submitted.
	SubmittedAt time.Time
	// StartedAt is when the job was first seen running; zero if not yet.
	StartedAt time.Time
	// Connected reports whether at least one of the block's managers is
	// connected now.
	Connected bool
	// ConnectedAt is when a manager of the block first connected; zero
	// if none ever did.
	ConnectedAt time.Time
	// Busy is the number of tasks in flight on the block.
	Busy int
	// IdleSince is when the block last became idle (connected, no task);
	// zero if it is not idle.
	IdleSince time.Time
	// Cancelling reports that a cancel was requested and the block is on
	// its way out: it no longer counts as capacity, but still counts
	// against MaxBlocks until it has ended.
	Cancelling bool
}

// everConnected reports whether any manager of the block ever connected.
func (b BlockInfo) everConnected() bool { return b.Connected || !b.ConnectedAt.IsZero() }

// ScalerInput is the state of the endpoint the scaler decides on.
type ScalerInput struct {
	// Outstanding is the number of tasks not finished: queued at the
	// endpoint or running on a worker.
	Outstanding int
	// Blocks are the blocks known, in any order. Terminal ones are
	// ignored.
	Blocks []BlockInfo
	// Submitted is the number of blocks the scheduler has accepted since
	// start. Until it reaches InitBlocks, InitBlocks is a floor.
	Submitted int
	// ConsecutiveFailures is the number of blocks that failed in a row
	// (failed to submit, failed, went missing, or ended or were cancelled
	// without any manager connecting) since a block last connected.
	ConsecutiveFailures int
	// LastFailureAt is when the last of those failures was seen.
	LastFailureAt time.Time
}

// Cancellation is a block the scaler wants gone, and why.
type Cancellation struct {
	BlockID string
	Reason  string
	// Failure reports that the block is cancelled because it does not
	// work (no manager connected in time, stuck pending), so the caller
	// counts it as a failure for backoff. Otherwise it was merely not
	// needed: scaled in.
	Failure bool
}

// Decision is what the scaler wants done now.
type Decision struct {
	// Submit is the number of blocks to submit.
	Submit int
	// Cancel lists the blocks to cancel.
	Cancel []Cancellation
	// BackoffUntil is set when blocks are wanted but held back after
	// failures: nothing is submitted before then.
	BackoffUntil time.Time
	// Reason explains the decision for logs and status displays.
	Reason string
}

// Plan decides how many blocks to submit and which to cancel. It is a
// pure function: same arguments, same decision; it never talks to a
// scheduler, so every rule is tested with plain values.
//
// The rules, in order:
//   - Terminal blocks do not count; blocks being cancelled count against
//     MaxBlocks only.
//   - A running block none of whose managers connected within
//     ConnectTimeout is cancelled as a failure, and so is one pending
//     longer than PendingTimeout, if set. Nothing is submitted in the same
//     decision, so that the failure is counted before a replacement goes.
//   - The target is ceil(Outstanding × Parallelism / slots per block), at
//     least MinBlocks, at least InitBlocks until that many were submitted,
//     and at most MaxBlocks.
//   - Below the target, the gap is submitted, counting pending blocks as
//     capacity already on its way, and never letting pending + running +
//     cancelling exceed MaxBlocks; after failures, submission waits
//     FailureBackoff × 2^(failures-1), capped at MaxFailureBackoff, from
//     the last failure.
//   - Above the target, blocks are withdrawn down to the target (so never
//     below MinBlocks): first those still queued after MaxIdleTime, newest
//     first; then connected blocks with no task in flight that have been
//     idle for MaxIdleTime, longest idle first. A block with a task in
//     flight, or a started block that has not connected yet, is never
//     scaled in.
func Plan(cfg ScalingConfig, in ScalerInput, now time.Time) Decision {
	cfg = cfg.WithDefaults()
	var d Decision
	var why []string

	var live []BlockInfo // counted as capacity
	occupied := 0        // counted against MaxBlocks
	for _, b := range in.Blocks {
		if b.State.Terminal() {
			continue
		}
		occupied++
		if b.Cancelling {
			continue
		}
		if reason, broken := brokenBlock(cfg, b, now); broken {
			d.Cancel = append(d.Cancel, Cancellation{BlockID: b.ID, Reason: reason, Failure: true})
			continue
		}
		live = append(live, b)
	}
	failedNow := len(d.Cancel)
	if failedNow > 0 {
		why = append(why, fmt.Sprintf("cancelling %d broken block(s)", failedNow))
	}

	target := targetBlocks(cfg, in)
	have := len(live)
	switch {
	case have < target:
		room := max(cfg.MaxBlocks-occupied, 0)
		n := min(target-have, room)
		until := in.LastFailureAt.Add(cfg.backoff(in.ConsecutiveFailures))
		switch {
		case n == 0:
			why = append(why, fmt.Sprintf("want %d block(s), have %d, but MaxBlocks (%d) is reached counting blocks being cancelled", target, have, cfg.MaxBlocks))
		case failedNow > 0:
			why = append(why, fmt.Sprintf("want %d more block(s) once the broken ones are cancelled", n))
		case in.ConsecutiveFailures > 0 && now.Before(until):
			d.BackoffUntil = until
			why = append(why, fmt.Sprintf("want %d more block(s) but backing off after %d consecutive failure(s) until %s", n, in.ConsecutiveFailures, until.Format(time.RFC3339)))
		default:
			d.Submit = n
			why = append(why, fmt.Sprintf("submitting %d block(s): want %d for %d outstanding task(s), have %d", n, target, in.Outstanding, have))
		}
	case have > target:
		victims := scaleInCandidates(cfg, live, now)
		n := min(have-target, len(victims))
		d.Cancel = append(d.Cancel, victims[:n]...)
		if n > 0 {
			why = append(why, fmt.Sprintf("scaling in %d block(s): want %d for %d outstanding task(s), have %d", n, target, in.Outstanding, have))
		} else {
			why = append(why, fmt.Sprintf("want %d block(s), have %d, none idle for %s", target, have, cfg.MaxIdleTime))
		}
	default:
		why = append(why, fmt.Sprintf("steady at %d block(s) for %d outstanding task(s)", have, in.Outstanding))
	}
	d.Reason = strings.Join(why, "; ")
	return d
}

// targetBlocks is how many live blocks the load and the limits call for.
func targetBlocks(cfg ScalingConfig, in ScalerInput) int {
	want := 0
	if in.Outstanding > 0 {
		slots := max(cfg.slotsPerBlock(), 1)
		want = int(math.Ceil(float64(in.Outstanding) * cfg.Parallelism / float64(slots)))
	}
	want = max(want, cfg.MinBlocks)
	if in.Submitted < cfg.InitBlocks {
		want = max(want, cfg.InitBlocks)
	}
	return min(want, cfg.MaxBlocks)
}

// brokenBlock reports whether a block has shown it will not work: started
// but never connected, or stuck in the queue.
func brokenBlock(cfg ScalingConfig, b BlockInfo, now time.Time) (string, bool) {
	if b.everConnected() {
		return "", false
	}
	switch b.State {
	case JobRunning:
		since := cmp.Or(b.StartedAt, b.SubmittedAt)
		if cfg.ConnectTimeout > 0 && now.Sub(since) >= cfg.ConnectTimeout {
			return fmt.Sprintf("no manager connected within %s of the job starting", cfg.ConnectTimeout), true
		}
	case JobPending, JobHeld:
		if cfg.PendingTimeout > 0 && now.Sub(b.SubmittedAt) >= cfg.PendingTimeout {
			return fmt.Sprintf("still %s %s after submission", b.State, cfg.PendingTimeout), true
		}
	}
	return "", false
}

// scaleInCandidates lists the blocks that may be withdrawn, best first.
func scaleInCandidates(cfg ScalingConfig, live []BlockInfo, now time.Time) []Cancellation {
	var queued, idle []BlockInfo
	for _, b := range live {
		switch {
		case (b.State == JobPending || b.State == JobHeld) && !b.everConnected():
			if now.Sub(b.SubmittedAt) >= cfg.MaxIdleTime {
				queued = append(queued, b)
			}
		case b.Connected && b.Busy == 0 && !b.IdleSince.IsZero():
			if now.Sub(b.IdleSince) >= cfg.MaxIdleTime {
				idle = append(idle, b)
			}
		}
	}
	// Newest queued first: it is furthest from the head of the queue.
	slices.SortStableFunc(queued, func(a, b BlockInfo) int {
		return cmp.Or(b.SubmittedAt.Compare(a.SubmittedAt), cmp.Compare(b.ID, a.ID))
	})
	// Longest idle first.
	slices.SortStableFunc(idle, func(a, b BlockInfo) int {
		return cmp.Or(a.IdleSince.Compare(b.IdleSince), cmp.Compare(a.ID, b.ID))
	})
	out := make([]Cancellation, 0, len(queued)+len(idle))
	for _, b := range queued {
		out = append(out, Cancellation{BlockID: b.ID, Reason: fmt.Sprintf("not needed and still %s after %s", b.State, cfg.MaxIdleTime)})
	}
	for _, b := range idle {
		out = append(out, Cancellation{BlockID: b.ID, Reason: fmt.Sprintf("idle for %s", now.Sub(b.IdleSince).Round(time.Second))})
	}
	return out
}
