package membroker

import (
	"context"
	"errors"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// resultPrefetch bounds the unacked messages of one result queue while
// ConsumeResults works, held ones (whose handler failed) included.
const resultPrefetch = 16

// ConsumeResults hands the messages of the result queues of the
// endpoints set up through this Service or named to Resume, including
// ones added later, to handle, one at a time, until ctx ends (it then
// returns nil) or the Service is closed (broker.ErrClosed). A message is
// acked once handle returned nil; after an error it is held and handed
// over again after a pause that grows while errors continue (see
// broker.Service).
func (b *Broker) ConsumeResults(ctx context.Context, handle func(ctx context.Context, endpointID string, m broker.Message) error) error {
	c := brokerutil.Consumer{
		Registry:          b.reg,
		Stats:             &b.stats,
		Consume:           b.consumeResults,
		Handle:            handle,
		Logger:            b.log,
		RetryDelay:        b.cfg.RetryDelay,
		MaxRetryDelay:     b.cfg.MaxRetryDelay,
		ReconnectDelay:    b.cfg.RetryDelay,
		MaxReconnectDelay: b.cfg.MaxRetryDelay,
		PoisonAfter:       b.cfg.PoisonAfter,
		Closed:            b.stop,
	}
	return c.Run(ctx)
}

// consumeResults consumes one endpoint's result queue (a
// brokerutil.ConsumeFunc).
func (b *Broker) consumeResults(ctx context.Context, id string, consuming func(), out chan<- brokerutil.Delivery) error {
	b.mu.Lock()
	ep := b.endpoints[id]
	b.mu.Unlock()
	if ep == nil {
		return brokerutil.QueueErr(broker.ReasonMissing, true, "membroker: consume %s: NOT_FOUND - no queue", broker.ResultQueue(id))
	}
	s, err := ep.results.consume(resultPrefetch)
	if err != nil {
		return queueErr(id, err)
	}
	gone := make(chan struct{})
	defer s.close() // returns what is unacked to the queue
	defer close(gone)
	consuming()
	for {
		m, err := s.next(ctx.Done())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return queueErr(id, err)
		}
		seq := m.seq
		d := brokerutil.Delivery{
			EndpointID: id, Type: m.typ, Body: m.body, Gone: gone,
			Ack: func() error { return s.settle(seq, false) },
		}
		select {
		case out <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func queueErr(id string, err error) error {
	reason := broker.ReasonConnection
	switch {
	case errors.Is(err, errQueueDeleted):
		reason = broker.ReasonDeleted
	case errors.Is(err, errQueueLocked):
		reason = broker.ReasonLocked
	}
	return brokerutil.QueueErr(reason, false, "membroker: consume %s: %w", broker.ResultQueue(id), err)
}
