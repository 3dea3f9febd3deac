package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/funcx-go/funcx"
)

// median of the per-round figures: on a shared, noisy machine one slow
// round must not move the reported figure, as it would move a mean.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// percentile returns the p-th percentile (0 < p <= 100) of ds by the
// nearest-rank method, so p99 of 1,000 samples is the 990th smallest:
// an observed latency, never an interpolation between two.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// rate is tasks per second. A clock that did not move counts as one
// nanosecond, so that a rate is always finite (JSON has no infinity).
func rate(n int, d time.Duration) float64 {
	return float64(n) / max(d, time.Nanosecond).Seconds()
}

// tracker proves that every task of one measured run came back exactly
// once. Task IDs carry a random tag for the run in their first half and a
// sequence number in the second, so a check is a slice index rather than
// a map operation: at 500,000 tasks a map would weigh on the very loop
// being measured. A tracker is owned by one goroutine.
type tracker struct {
	tag  uint64
	seen []bool
	got  int
}

func newTracker(n int) *tracker {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on Linux
	return &tracker{tag: binary.BigEndian.Uint64(b[:]), seen: make([]bool, n)}
}

// id returns the ID of task seq of the run.
func (t *tracker) id(seq int) funcx.TaskID {
	var id funcx.TaskID
	binary.BigEndian.PutUint64(id[:8], t.tag)
	binary.BigEndian.PutUint64(id[8:], uint64(seq))
	return id
}

// stamp gives tasks the IDs of seq, seq+1, ...
func (t *tracker) stamp(tasks []funcx.Task, seq int) {
	for i := range tasks {
		binary.BigEndian.PutUint64(tasks[i].ID[:8], t.tag)
		binary.BigEndian.PutUint64(tasks[i].ID[8:], uint64(seq+i))
	}
}

// mark records the result of id; a task of another run, or one seen
// before, is an error.
func (t *tracker) mark(id funcx.TaskID) error {
	seq := binary.BigEndian.Uint64(id[8:])
	if binary.BigEndian.Uint64(id[:8]) != t.tag || seq >= uint64(len(t.seen)) {
		return fmt.Errorf("result for task %s, which this run never submitted", id)
	}
	if t.seen[seq] {
		return fmt.Errorf("task %s (number %d) returned twice", id, seq)
	}
	t.seen[seq] = true
	t.got++
	return nil
}

// done reports whether every task has returned.
func (t *tracker) done() bool { return t.got == len(t.seen) }

// missing is the error for a run that ended before every task returned.
func (t *tracker) missing() error {
	if t.done() {
		return nil
	}
	first := slices.Index(t.seen, false)
	return fmt.Errorf("%d of %d tasks never returned (first: number %d)", len(t.seen)-t.got, len(t.seen), first)
}

// checkResult turns a failed task into an error: the benchmarks run only
// tasks that must succeed, so a failure is a bug to report, not a figure.
func checkResult(r *funcx.Result) error {
	if r.State != funcx.StateSuccess || r.Error != nil {
		return fmt.Errorf("task %s failed: %v", r.TaskID, r.Err())
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("task %s exited with status %d; stderr %q", r.TaskID, r.ExitCode, r.Stderr)
	}
	return nil
}
