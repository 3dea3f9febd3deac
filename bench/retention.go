package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// The retention phase is a soak of the store layer: RetentionTasks tasks
// submitted, published and finished in submissions of retentionBatch
// through sqlitestore on a fresh file, on a simulated clock that moves
// one second per submission, while expired results are deleted as the
// service's retention does (service.RetentionBatch at a time, every
// retentionEvery simulated seconds) with a TTL of retentionTTL. The row
// is the database's size at the end beside its size once the first TTL
// had passed (when deletion began): flat means a ratio near 1.
const (
	retentionBatch = 1000             // tasks per submission, one simulated second
	retentionTTL   = 30 * time.Second // simulated
	retentionEvery = 5 * time.Second  // simulated
)

// retentionPhase adds the retention-size row.
func (h *harness) retentionPhase(ctx context.Context) error {
	n := h.o.RetentionTasks
	h.progress("retention: %d tasks through sqlitestore, %d per simulated second, TTL %s, deleted every %s in batches of %d",
		n, retentionBatch, retentionTTL, retentionEvery, service.RetentionBatch)
	dir, err := os.MkdirTemp("", "funcx-bench-retention-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := runRetention(ctx, filepath.Join(dir, "service.db"), n, h.progress)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	h.progress("retention: %.0f tasks/s through the store; size %s after the first TTL, %s at the end; %d results deleted, %d left",
		s.rate, kb(s.startSize), kb(s.endSize), s.deleted, s.left)
	h.add(row{
		Key:  "retention-size",
		Name: fmt.Sprintf("SQLite file after %d tasks, TTL %s of %d tasks", n, retentionTTL, int(retentionTTL/time.Second)*retentionBatch),
		Unit: "KB", Value: float64(s.endSize) / 1000, Rounds: []float64{float64(s.endSize) / 1000},
		Baseline:      "same file once the first TTL had passed",
		BaselineValue: float64(s.startSize) / 1000, BaselineRounds: []float64{float64(s.startSize) / 1000},
		Tasks: n, Returned: s.deleted + s.left, BaselineReturned: s.deleted + s.left,
	})
	return nil
}

// retentionStats is what runRetention measured.
type retentionStats struct {
	startSize, endSize int64 // bytes of the database and its WAL
	deleted, left      int   // results
	rate               float64
}

// runRetention runs the soak on a new database at path.
func runRetention(ctx context.Context, path string, n int, progress func(string, ...any)) (retentionStats, error) {
	var s retentionStats
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path})
	if err != nil {
		return s, err
	}
	defer st.Close()
	const owner, ep, fn = "bench", "bench-endpoint", "bench-function"
	clock := time.Unix(1_700_000_000, 0)
	if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: owner, Name: owner, ClientID: owner, CreatedAt: clock}, SecretHash: []byte{0}}); err != nil {
		return s, err
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: ep, Owner: owner, Name: ep, RegisteredAt: clock}); err != nil {
		return s, err
	}
	if err := st.CreateFunction(ctx, service.FunctionRecord{ID: fn, Owner: owner, Name: fn, Function: funcx.Command("true"), CreatedAt: clock}); err != nil {
		return s, err
	}

	began := time.Now()
	recs := make([]service.TaskRecord, retentionBatch)
	results := make([]funcx.Result, retentionBatch)
	var lastRetention time.Time
	for done := 0; done < n && ctx.Err() == nil; {
		k := min(retentionBatch, n-done)
		for i := range k {
			id := funcx.NewTaskID()
			recs[i] = service.TaskRecord{ID: id, Owner: owner, EndpointID: ep, FunctionID: fn, Submitted: clock}
			results[i] = funcx.Result{TaskID: id, State: funcx.StateSuccess, Output: []byte(`null`), Worker: i % 8,
				Times: funcx.Timings{Received: clock, Dispatched: clock, Started: clock, Finished: clock}}
		}
		sub, err := st.AddTasks(ctx, recs[:k])
		if err != nil {
			return s, err
		}
		if err := st.MarkPublished(ctx, sub.ID); err != nil {
			return s, err
		}
		out, err := st.StoreResults(ctx, ep, results[:k], clock)
		if err != nil {
			return s, err
		}
		if len(out.Stored) != k {
			return s, fmt.Errorf("stored %d of %d results: %+v", len(out.Stored), k, out)
		}
		done += k
		clock = clock.Add(time.Second)
		if clock.Sub(lastRetention) >= retentionEvery {
			lastRetention = clock
			for {
				d, err := st.DeleteExpiredResults(ctx, clock.Add(-retentionTTL), service.RetentionBatch)
				if err != nil {
					return s, err
				}
				s.deleted += d
				if d < service.RetentionBatch {
					break
				}
			}
		}
		if s.startSize == 0 && done >= int(retentionTTL/time.Second)*retentionBatch+int(retentionEvery/time.Second)*retentionBatch {
			if s.startSize, err = dbSize(path); err != nil {
				return s, err
			}
		}
		if done%(100*retentionBatch) == 0 {
			size, _ := dbSize(path)
			progress("retention: %d tasks, %s, %d results deleted", done, kb(size), s.deleted)
		}
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	s.rate = float64(n) / time.Since(began).Seconds()
	if s.endSize, err = dbSize(path); err != nil {
		return s, err
	}
	rs, err := st.Results(ctx, owner, 0, n)
	if err != nil {
		return s, err
	}
	s.left = len(rs)
	return s, nil
}

// dbSize is the size of the SQLite file and its WAL.
func dbSize(path string) (int64, error) {
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// kb formats a size in bytes as KB.
func kb(b int64) string { return commas(float64(b)/1000) + " KB" }
