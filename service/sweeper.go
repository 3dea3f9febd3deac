package service

import (
	"context"
	"time"

	"github.com/funcx-go/funcx"
)

// sweepBatch bounds the unpublished tasks failed per store transaction.
const sweepBatch = 1000

// sweep periodically deletes expired tokens and fails tasks that were
// never published (see the package documentation) once PublishRetryWindow has passed.
func (s *Service) sweep(ctx context.Context) {
	every := min(s.cfg.PublishRetryWindow/4, time.Minute)
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweepOnce(ctx)
		}
	}
}

func (s *Service) sweepOnce(ctx context.Context) {
	now := s.now()
	if n, err := s.store.DeleteExpiredTokens(ctx, now); err != nil {
		s.log.Error("could not delete expired tokens", "err", err)
	} else if n > 0 {
		s.log.Debug("expired tokens deleted", "count", n)
	}
	for ctx.Err() == nil {
		stale, err := s.store.Unpublished(ctx, now.Add(-s.cfg.PublishRetryWindow), sweepBatch)
		if err != nil {
			s.log.Error("could not list unpublished tasks", "err", err)
			return
		}
		byEndpoint := make(map[string][]funcx.Result)
		for i := range stale {
			t := &stale[i]
			err := funcx.Errorf(funcx.InternalError, "the task never reached the broker and was not resubmitted within %s; submit it again", s.cfg.PublishRetryWindow)
			byEndpoint[t.EndpointID] = append(byEndpoint[t.EndpointID],
				funcx.Result{TaskID: t.ID, State: funcx.StateFailed, Error: err, ExitCode: -1, Worker: -1, Times: funcx.Timings{Finished: now}})
		}
		for ep, results := range byEndpoint {
			if err := s.storeResults(ctx, ep, results); err != nil {
				s.log.Error("could not fail unpublished tasks", "endpoint", ep, "err", err)
				return
			}
			s.log.Warn("unpublished tasks failed", "endpoint", ep, "count", len(results))
		}
		if len(stale) < sweepBatch {
			return
		}
	}
}
