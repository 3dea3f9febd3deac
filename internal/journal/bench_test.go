package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// benchBatch is the tasks per call: about one AMQP prefetch window.
const benchBatch = 64

// runCallers splits n tasks into calls of benchBatch and runs them from
// callers goroutines; each call gets the tasks [first, first+benchBatch).
func runCallers(b *testing.B, n, callers int, call func(first, end int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				first := int(next.Add(benchBatch)) - benchBatch
				if first >= n {
					return
				}
				if err := call(first, min(first+benchBatch, n)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// mark is the journal's counters at the start of a measurement.
type mark struct {
	stats  Stats
	writes int64 // bbolt write(2) calls
}

func markOf(j *Journal) mark {
	dbs := j.db.Stats()
	return mark{stats: j.Stats(), writes: dbs.TxStats.GetWrite()}
}

// report adds tasks/s and, from the journal's figures since m, commits and
// fsyncs per task (bbolt syncs twice per commit: data pages, then the meta
// page), records per commit, and write calls per task, which unlike time
// does not depend on what else the machine is doing.
func report(b *testing.B, j *Journal, n int, m mark) {
	b.Helper()
	now := markOf(j)
	commits := float64(now.stats.Commits - m.stats.Commits)
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tasks/s")
	b.ReportMetric(commits/float64(n), "commits/task")
	b.ReportMetric(2*commits/float64(n), "fsyncs/task")
	b.ReportMetric(float64(now.stats.Records-m.stats.Records)/commits, "records/commit")
	b.ReportMetric(float64(now.writes-m.writes)/float64(n), "writes/task")
}

func BenchmarkAddTasks(b *testing.B) {
	for _, callers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			j, _ := setup(b, Options{})
			tasks := sampleTasks(b.N)
			ctx := context.Background()
			before := markOf(j)
			b.ResetTimer()
			runCallers(b, b.N, callers, func(first, end int) error {
				_, err := j.AddTasks(ctx, tasks[first:end])
				return err
			})
			b.StopTimer()
			report(b, j, b.N, before)
		})
	}
}

func BenchmarkAddResults(b *testing.B) {
	for _, callers := range []int{1, 8} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			j, _ := setup(b, Options{})
			tasks := sampleTasks(b.N)
			results := resultsFor(tasks)
			ctx := context.Background()
			runCallers(b, b.N, 8, func(first, end int) error {
				_, err := j.AddTasks(ctx, tasks[first:end])
				return err
			})
			before := markOf(j)
			b.ResetTimer()
			runCallers(b, b.N, callers, func(first, end int) error {
				_, err := j.AddResults(ctx, results[first:end])
				return err
			})
			b.StopTimer()
			report(b, j, b.N, before)
		})
	}
}

// BenchmarkCycle is a task's whole life in the journal: journaled,
// result recorded, result confirmed. Three commits per call.
func BenchmarkCycle(b *testing.B) {
	for _, callers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			j, _ := setup(b, Options{})
			tasks := sampleTasks(b.N)
			results := resultsFor(tasks)
			ctx := context.Background()
			before := markOf(j)
			b.ResetTimer()
			runCallers(b, b.N, callers, func(first, end int) error {
				if _, err := j.AddTasks(ctx, tasks[first:end]); err != nil {
					return err
				}
				if _, err := j.AddResults(ctx, results[first:end]); err != nil {
					return err
				}
				return j.Confirm(ctx, taskIDs(tasks[first:end]))
			})
			b.StopTimer()
			report(b, j, b.N, before)
		})
	}
}

// BenchmarkFlushInterval measures whether lingering for more writers pays.
func BenchmarkFlushInterval(b *testing.B) {
	for _, flush := range []time.Duration{0, 500 * time.Microsecond, 2 * time.Millisecond} {
		for _, callers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("flush=%s/callers=%d", flush, callers), func(b *testing.B) {
				j, _ := setup(b, Options{FlushInterval: flush})
				tasks := sampleTasks(b.N)
				ctx := context.Background()
				before := markOf(j)
				b.ResetTimer()
				runCallers(b, b.N, callers, func(first, end int) error {
					_, err := j.AddTasks(ctx, tasks[first:end])
					return err
				})
				b.StopTimer()
				report(b, j, b.N, before)
			})
		}
	}
}

// BenchmarkFreelistSync compares writing bbolt's freelist on every commit
// (the bbolt default) with rebuilding it on open (what the journal does),
// on a journal whose backlog of 100k tasks has drained, leaving the file
// with many free pages, as after an outage.
func BenchmarkFreelistSync(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("freelistSync=%v", sync), func(b *testing.B) {
			j, _ := setup(b, Options{freelistSync: sync})
			ctx := context.Background()
			cycle := func(tasks []funcx.Task, results []funcx.Result) {
				runCallers(b, len(tasks), 8, func(first, end int) error {
					if _, err := j.AddTasks(ctx, tasks[first:end]); err != nil {
						return err
					}
					if _, err := j.AddResults(ctx, results[first:end]); err != nil {
						return err
					}
					return j.Confirm(ctx, taskIDs(tasks[first:end]))
				})
			}
			backlog := sampleTasks(100_000)
			if _, err := j.AddTasks(ctx, backlog); err != nil {
				b.Fatal(err)
			}
			cycle(backlog, resultsFor(backlog))
			tasks := sampleTasks(b.N)
			results := resultsFor(tasks)
			before := markOf(j)
			b.ResetTimer()
			cycle(tasks, results)
			b.StopTimer()
			report(b, j, b.N, before)
		})
	}
}

// BenchmarkDBBatch is the alternative to the committer goroutine: each
// call runs its puts through bbolt's DB.Batch, which gathers concurrent
// calls for up to MaxBatchDelay. Same file options and key layout; no
// duplicate check (DB.Batch may run a function twice, so an in-memory
// index could not be kept in it).
func BenchmarkDBBatch(b *testing.B) {
	for _, delay := range []time.Duration{0, 10 * time.Millisecond} {
		for _, callers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("delay=%s/callers=%d", delay, callers), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "batch.db")
				db, err := bbolt.Open(path, 0o600, &bbolt.Options{NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				db.MaxBatchDelay = delay
				if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket(tableTasks); return err }); err != nil {
					b.Fatal(err)
				}
				tasks := sampleTasks(b.N)
				var seq atomic.Uint64
				b.ResetTimer()
				runCallers(b, b.N, callers, func(first, end int) error {
					recs := make([][]byte, 0, end-first)
					for i := first; i < end; i++ {
						recs = append(recs, wire.AppendTasks(nil, tasks[i:i+1]))
					}
					return db.Batch(func(tx *bbolt.Tx) error {
						bk := tx.Bucket(tableTasks)
						bk.FillPercent = 1
						for k, i := 0, first; i < end; k, i = k+1, i+1 {
							key := make([]byte, keyLen)
							putKey(key, seq.Add(1), tasks[i].ID)
							if err := bk.Put(key, recs[k]); err != nil {
								return err
							}
						}
						return nil
					})
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
			})
		}
	}
}
