package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// resultDelivery is a message from an endpoint's result queue.
type resultDelivery struct {
	endpointID string
	amqp.Delivery
}

// ConsumeResults hands the messages of the result queues of every
// endpoint set up with EnsureEndpoint or named to Watch, including ones
// added while it runs, to handle, one at a time, until ctx ends (it then
// returns nil) or the Service is closed (broker.ErrClosed). Result
// messages of one endpoint already waiting when one arrives come merged
// into one (see resultConsumers.process). A message is acked once
// handle returned nil; after an error it is requeued,
// following a pause that grows while errors continue. It has its own
// connection and dials it again, with backoff, whenever it is lost.
func (s *Service) ConsumeResults(ctx context.Context, handle func(ctx context.Context, endpointID string, m broker.Message) error) error {
	h := brokerutil.ResultHandler{
		Handle:    handle,
		Logger:    s.log,
		Retry:     brokerutil.Backoff{Min: s.cfg.RetryDelay, Max: s.cfg.MaxRetryDelay},
		Malformed: &s.malformed,
	}
	reconnect := brokerutil.Backoff{Min: s.cfg.ReconnectDelay, Max: s.cfg.MaxReconnectDelay}
	for {
		connected, err := s.consumeOnce(ctx, &h)
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return broker.ErrClosed
		default:
		}
		if connected {
			reconnect.Reset()
		}
		d := reconnect.Next()
		s.log.Warn("result consumer lost RabbitMQ; reconnecting", "retry_in", d, "err", err)
		if !brokerutil.Sleep(ctx, d) {
			return nil
		}
	}
}

// consumeOnce consumes over one connection until ctx ends, the Service
// closes or the connection fails.
func (s *Service) consumeOnce(ctx context.Context, h *brokerutil.ResultHandler) (connected bool, err error) {
	conn, err := s.dial(ctx, "results")
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // last: the forwarders end once the connection is closed
	defer conn.Close()
	defer cancel()

	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		return true, fmt.Errorf("open channel: %w", classify(err))
	}
	if err := ch.Qos(s.cfg.ResultPrefetch, 0, false); err != nil {
		return true, fmt.Errorf("set prefetch: %w", classify(err))
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	c := &resultConsumers{
		s: s, conn: conn, ch: ch, wg: &wg,
		in:    make(chan resultDelivery, maxResultBatch),
		ended: make(chan string),
		byTag: make(map[string]string),
	}

	changed, err := c.refresh(ctx)
	if err != nil {
		return true, err
	}
	var batch []resultDelivery
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-s.done:
			return true, broker.ErrClosed
		case e := <-connClosed:
			return true, fmt.Errorf("results connection closed: %w", closeErr(e))
		case e := <-chClosed:
			return true, fmt.Errorf("results channel closed: %w", closeErr(e))
		case tag := <-c.ended:
			// RabbitMQ cancels a consumer whose queue was deleted; a
			// consumer we cancelled is no longer in byTag.
			if id, ok := c.byTag[tag]; ok && !ch.IsClosed() {
				s.log.Warn("result queue consumer cancelled by RabbitMQ (queue deleted?)", "endpoint", id)
				delete(c.byTag, tag)
				// The queue may be back already (EnsureEndpoint raced the
				// cancel); if not, the next registry change looks again.
				if changed, err = c.refresh(ctx); err != nil {
					return true, err
				}
			}
		case <-changed:
			if changed, err = c.refresh(ctx); err != nil {
				return true, err
			}
		case d := <-c.in:
			batch = c.take(append(batch[:0], d))
			c.process(ctx, h, batch)
			clear(batch)
		}
	}
}

// maxResultBatch bounds the result messages handled together (and
// buffered from the consumers).
const maxResultBatch = 64

// take appends to batch the deliveries already waiting, up to
// maxResultBatch in all.
func (c *resultConsumers) take(batch []resultDelivery) []resultDelivery {
	for len(batch) < maxResultBatch {
		select {
		case d := <-c.in:
			batch = append(batch, d)
		default:
			return batch
		}
	}
	return batch
}

// process handles deliveries that were waiting together, consecutive
// results of one endpoint as one message (ResultHandler.ProcessBatch):
// when the service falls behind, it catches up in fewer, larger store
// transactions. Each delivery is then acked, or returned to its queue.
func (c *resultConsumers) process(ctx context.Context, h *brokerutil.ResultHandler, batch []resultDelivery) {
	msgs := make([]brokerutil.Raw, len(batch))
	for i := range batch {
		msgs[i] = brokerutil.Raw{EndpointID: batch[i].endpointID, Type: batch[i].Type, Body: batch[i].Body}
	}
	ack := make([]bool, len(batch))
	h.ProcessBatch(ctx, msgs, ack)
	for i := range batch {
		d := &batch[i]
		var err error
		if ack[i] {
			err = d.Ack(false)
		} else {
			err = d.Nack(false, true)
		}
		if err != nil {
			c.s.log.Debug("settle result message", "endpoint", d.endpointID, "err", err)
		}
	}
}

func closeErr(e *amqp.Error) error {
	if e == nil {
		return broker.ErrClosed
	}
	return classify(e)
}

// resultConsumers are the consumers of one results channel, one per
// endpoint result queue, each forwarding into in.
type resultConsumers struct {
	s     *Service
	conn  *amqp.Connection
	ch    *amqp.Channel
	in    chan resultDelivery
	ended chan string       // tags of consumers whose deliveries ended
	byTag map[string]string // consumer tag -> endpoint ID
	seq   int
	wg    *sync.WaitGroup
}

// refresh brings the consumers in line with the registry and returns the
// channel closed at its next change.
func (c *resultConsumers) refresh(ctx context.Context) (<-chan struct{}, error) {
	ids, changed := c.s.reg.snapshot()
	return changed, c.sync(ctx, ids)
}

// sync consumes the result queues of ids not yet consumed and cancels
// the consumers of endpoints no longer in ids.
func (c *resultConsumers) sync(ctx context.Context, ids map[string]struct{}) error {
	consumed := make(map[string]bool, len(c.byTag))
	for tag, id := range c.byTag {
		if _, ok := ids[id]; !ok {
			delete(c.byTag, tag)
			if err := c.ch.Cancel(tag, false); err != nil {
				return fmt.Errorf("cancel consumer of %s: %w", id, classify(err))
			}
			continue
		}
		consumed[id] = true
	}
	for id := range ids {
		if consumed[id] {
			continue
		}
		// Tags are unique so that the end of an old consumer is never
		// taken for the end of a new one of the same endpoint.
		c.seq++
		if err := c.consume(ctx, id, fmt.Sprintf("funcx-results-%s-%d", id, c.seq)); err != nil {
			return err
		}
	}
	return nil
}

// consume starts consuming one endpoint's result queue. A queue that
// does not exist is skipped: consuming it would close the shared
// channel, so it is checked first on a channel of its own.
func (c *resultConsumers) consume(ctx context.Context, id, tag string) error {
	queue := broker.ResultQueue(id)
	probe, err := c.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", classify(err))
	}
	_, err = probe.QueueDeclarePassive(queue, true, false, false, false, nil)
	_ = probe.Close()
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		// Looked at again when the registry next changes.
		c.s.log.Warn("endpoint has no result queue; not consuming it", "endpoint", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("check queue %s: %w", queue, classify(err))
	}
	deliveries, err := c.ch.Consume(queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", queue, classify(err))
	}
	c.byTag[tag] = id
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for d := range deliveries {
			select {
			case c.in <- resultDelivery{endpointID: id, Delivery: d}:
			case <-ctx.Done():
				return
			}
		}
		select {
		case c.ended <- tag:
		case <-ctx.Done():
		}
	}()
	return nil
}
