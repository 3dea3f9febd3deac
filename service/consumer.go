package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// consume runs the broker's result consumer until ctx ends, restarting it
// with backoff when it fails (a lost broker connection).
func (s *Service) consume(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for {
		began := time.Now()
		err := s.broker.ConsumeResults(ctx, s.handleMessage)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, broker.ErrClosed) {
			s.log.Error("the broker was closed under a running service: no more results are consumed")
			return
		}
		if time.Since(began) > time.Minute {
			backoff = minBackoff // it ran well for a while: a new failure
		}
		s.log.Error("result consumer stopped; restarting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// handleMessage takes one message from an endpoint's results queue. The
// endpoint is the one whose queue it came from, never what the message
// claims. An error makes the broker redeliver the message, which is safe:
// storing is idempotent.
func (s *Service) handleMessage(ctx context.Context, endpointID string, m broker.Message) error {
	if hb := m.Heartbeat; hb != nil {
		rec := Heartbeat{Time: s.now(), Managers: hb.Managers, Workers: hb.Workers, Outstanding: hb.Outstanding, Stopping: hb.Stopping,
			Detail: hb.HeartbeatDetail.Trim()} // bounded whatever the endpoint sent
		err := s.store.RecordHeartbeat(ctx, endpointID, rec)
		rec.Detail = broker.HeartbeatDetail{} // liveness needs only the time
		switch {
		case errors.Is(err, ErrNotFound):
			s.log.Debug("heartbeat from an unknown endpoint dropped", "endpoint", endpointID)
		case err != nil:
			return fmt.Errorf("record heartbeat of %s: %w", endpointID, err)
		default:
			s.live.record(endpointID, rec)
		}
	}
	if len(m.Results) > 0 {
		if err := s.storeResults(ctx, endpointID, m.Results); err != nil {
			return err
		}
	}
	return nil
}

// storeResults stores a batch of results in one transaction, counts them
// and wakes the long polls of their owners.
func (s *Service) storeResults(ctx context.Context, endpointID string, results []funcx.Result) error {
	for i := range results {
		if o := results[i].Output; len(o) > 0 && !json.Valid(o) {
			// Go functions return JSON; keep what a faulty worker sent,
			// as a JSON string, rather than fail every read of it.
			results[i].Output = jsonOutput(o)
		}
	}
	out, err := s.store.StoreResults(ctx, endpointID, results, s.now())
	if err != nil {
		return fmt.Errorf("store %d results from %s: %w", len(results), endpointID, err)
	}
	m := s.metrics
	m.duplicates.Add(float64(out.Duplicates))
	if out.Unknown > 0 {
		m.dropped.WithLabelValues("unknown_task").Add(float64(out.Unknown))
		s.log.Warn("results for unknown tasks dropped", "endpoint", endpointID, "count", out.Unknown)
	}
	s.countMisrouted(endpointID, out)
	if out.NotTerminal > 0 {
		m.dropped.WithLabelValues("not_terminal").Add(float64(out.NotTerminal))
	}
	for i := range out.Stored {
		rec := &out.Stored[i]
		if rec.Result.State == funcx.StateSuccess {
			m.completed.Inc()
		} else {
			kind := funcx.InternalError
			if rec.Result.Error != nil {
				kind = rec.Result.Error.Kind
			}
			m.failed.WithLabelValues(kind.String()).Inc()
		}
		if !rec.Submitted.IsZero() {
			m.latency.Observe(rec.Stored.Sub(rec.Submitted).Seconds())
		}
	}
	s.notify.wake(out.Stored)
	return nil
}
