package service

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/funcx-go/funcx/broker"
)

// endpointResync is how often the service hands the broker the stored
// endpoints again (see resync).
const endpointResync = time.Minute

// resume hands every stored endpoint to the broker, whose result
// consumer then consumes their queues: a restarted service, or a second
// one on the same store, knows them only from the store.
func (s *Service) resume(ctx context.Context) error {
	ids, err := s.store.EndpointIDs(ctx)
	if err != nil {
		return fmt.Errorf("list the stored endpoints: %w", err)
	}
	if err := s.broker.Resume(ctx, ids); err != nil {
		return fmt.Errorf("resume %d endpoints: %w", len(ids), err)
	}
	return nil
}

// resync resumes the stored endpoints every endpointResync, so that the
// endpoints another service process on the same store registered are
// consumed here too, and their results keep flowing if it stops.
func (s *Service) resync(ctx context.Context) {
	t := time.NewTicker(endpointResync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.resume(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("could not resume the stored endpoints", "err", err)
			}
		}
	}
}

// consumerCollector exports the broker's ConsumerStats.
type consumerCollector struct {
	stats                      func() broker.ConsumerStats
	errors, queues, unconsumed *prometheus.Desc
}

func newConsumerCollector(stats func() broker.ConsumerStats) *consumerCollector {
	const ns = "funcx_service"
	return &consumerCollector{
		stats: stats,
		errors: prometheus.NewDesc(ns+"_result_queue_errors_total",
			"Failures to consume an endpoint's result queue, and result messages dropped, by reason: "+
				"missing, locked (exclusive to another connection), refused, deleted (while consumed), connection, "+
				"malformed (undecodable message), poisoned (its handler kept failing while others succeeded).", []string{"reason"}, nil),
		queues: prometheus.NewDesc(ns+"_result_queues",
			"Endpoints whose result queues the service consumes.", nil, nil),
		unconsumed: prometheus.NewDesc(ns+"_result_queues_unconsumed",
			"Endpoints whose result queue is not consumed right now (failing, retried with backoff).", nil, nil),
	}
}

func (c *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.errors
	ch <- c.queues
	ch <- c.unconsumed
}

func (c *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, r := range broker.Reasons {
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(st.Errors[r]), r)
	}
	ch <- prometheus.MustNewConstMetric(c.queues, prometheus.GaugeValue, float64(st.Endpoints))
	ch <- prometheus.MustNewConstMetric(c.unconsumed, prometheus.GaugeValue, float64(st.Unconsumed))
}
