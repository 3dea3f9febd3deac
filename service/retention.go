package service

import (
	"context"
	"time"

	"github.com/funcx-go/funcx"
)

// RetentionBatch bounds the results one retention transaction deletes:
// small enough that a submission or a result write queued behind it (on
// SQLite's single writer) waits a few milliseconds at most.
const RetentionBatch = 500

// retentionEvery is how often expired results are looked for: a tenth of
// the TTL, between a second and a minute.
func retentionEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), time.Minute)
}

// retain deletes the results older than Config.ResultTTL, with their
// tasks, until ctx ends.
func (s *Service) retain(ctx context.Context) {
	if s.cfg.ResultTTL < 0 {
		return
	}
	t := time.NewTicker(retentionEvery(s.cfg.ResultTTL))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.retainOnce(ctx)
		}
	}
}

// retainOnce deletes every result expired now, batch by batch, and
// returns how many. Between batches it pauses as long as the last one
// took, so that retention takes at most half of the store's writes
// however far behind it is.
func (s *Service) retainOnce(ctx context.Context) int {
	if s.cfg.ResultTTL < 0 {
		return 0
	}
	before := s.now().Add(-s.cfg.ResultTTL)
	total := 0
	for ctx.Err() == nil {
		began := time.Now()
		n, err := s.store.DeleteExpiredResults(ctx, before, RetentionBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("could not delete expired results", "err", err)
			}
			break
		}
		total += n
		s.metrics.retained.WithLabelValues("expired").Add(float64(n))
		if n < RetentionBatch {
			break
		}
		pause := time.NewTimer(max(time.Since(began), time.Millisecond))
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		pause.Stop()
	}
	if total > 0 {
		s.log.Debug("expired results deleted", "count", total, "stored_before", before)
	}
	return total
}

// deleteFetched deletes the results of tasks just answered to their
// owner by task ID, when Config.DeleteFetched is set. A failure is only
// logged: the answer is out, and ResultTTL deletes the result later.
func (s *Service) deleteFetched(ctx context.Context, owner string, ts []TaskRecord) {
	if !s.cfg.DeleteFetched {
		return
	}
	var ids []funcx.TaskID
	for i := range ts {
		if ts[i].Result != nil {
			ids = append(ids, ts[i].ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	n, err := s.store.DeleteResults(ctx, owner, ids)
	if err != nil {
		s.log.Error("could not delete fetched results", "owner", owner, "count", len(ids), "err", err)
		return
	}
	s.metrics.retained.WithLabelValues("fetched").Add(float64(n))
}
