package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// ConsumeResults hands the messages of the result queues of every
// endpoint set up with EnsureEndpoint or named to Resume, including ones
// added while it runs, to handle, one at a time, until ctx ends (it then
// returns nil) or the Service is closed (broker.ErrClosed). Each
// endpoint's queue is consumed over a connection of its own to the
// endpoint's virtual host, and dialed again with a backoff of its own
// whenever it fails. Result messages of one endpoint already waiting
// when one arrives come merged into one. A message is acked once handle
// returned nil; after an error it is held and handed over again after a
// pause that grows while errors continue (see broker.Service).
func (s *Service) ConsumeResults(ctx context.Context, handle func(ctx context.Context, endpointID string, m broker.Message) error) error {
	c := brokerutil.Consumer{
		Registry:          s.reg,
		Stats:             &s.stats,
		Consume:           s.consumeResults,
		Handle:            handle,
		Logger:            s.log,
		RetryDelay:        s.cfg.RetryDelay,
		MaxRetryDelay:     s.cfg.MaxRetryDelay,
		ReconnectDelay:    s.cfg.ReconnectDelay,
		MaxReconnectDelay: s.cfg.MaxReconnectDelay,
		PoisonAfter:       s.cfg.PoisonAfter,
		Closed:            s.done,
	}
	return c.Run(ctx)
}

// consumeResults consumes one endpoint's result queue over a connection
// of its own (a brokerutil.ConsumeFunc).
func (s *Service) consumeResults(ctx context.Context, id string, consuming func(), out chan<- brokerutil.Delivery) error {
	select {
	case s.dials <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := s.dialer(id, "results")(ctx)
	<-s.dials
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return queueError(err)
	}
	defer conn.Close()
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, deliveries, err := s.openConsumer(conn, id)
	if err != nil {
		return err
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	cancelled := ch.NotifyCancel(make(chan string, 1))
	gone := make(chan struct{})
	defer close(gone)
	consuming()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d, ok := <-deliveries:
			if !ok {
				return ended(id, connClosed, chClosed, cancelled)
			}
			m := brokerutil.Delivery{EndpointID: id, Type: d.Type, Body: d.Body, Gone: gone, Ack: func() error { return d.Ack(false) }}
			select {
			case out <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// openConsumer opens a channel consuming the endpoint's result queue.
// The service owns the queue: one found missing (deleted by an
// administrator, say) is declared again, with its exchange and binding.
func (s *Service) openConsumer(conn *amqp.Connection, id string) (*amqp.Channel, <-chan amqp.Delivery, error) {
	queue := broker.ResultQueue(id)
	for redeclared := false; ; redeclared = true {
		ch, err := conn.Channel()
		if err != nil {
			return nil, nil, queueError(fmt.Errorf("open channel: %w", err))
		}
		if err := ch.Qos(s.cfg.ResultPrefetch, 0, false); err != nil {
			return nil, nil, queueError(fmt.Errorf("set prefetch: %w", err))
		}
		// The tag names the endpoint in the management UI.
		deliveries, err := ch.Consume(queue, "funcx-results-"+id, false, false, false, false, nil)
		if err == nil {
			return ch, deliveries, nil
		}
		_ = ch.Close()
		var ae *amqp.Error
		if redeclared || !errors.As(err, &ae) || ae.Code != amqp.NotFound {
			return nil, nil, queueError(fmt.Errorf("consume %s: %w", queue, err))
		}
		s.stats.Count(broker.ReasonMissing)
		s.log.Warn("endpoint's result queue was missing; declaring it again", "endpoint", id)
		ch, err = conn.Channel()
		if err != nil {
			return nil, nil, queueError(fmt.Errorf("open channel: %w", err))
		}
		err = declare(ch, id)
		_ = ch.Close()
		if err != nil {
			return nil, nil, queueError(err)
		}
	}
}

// ended says why a consumer's deliveries ended: amqp091 tells the
// listeners before it closes the deliveries.
func ended(id string, connClosed, chClosed <-chan *amqp.Error, cancelled <-chan string) error {
	select {
	case <-cancelled:
		return brokerutil.QueueErr(broker.ReasonDeleted, false, "consumer of %s cancelled by RabbitMQ: the queue was deleted", broker.ResultQueue(id))
	case e := <-chClosed:
		return queueError(fmt.Errorf("results channel closed: %w", closeErr(e)))
	case e := <-connClosed:
		return queueError(fmt.Errorf("results connection closed: %w", closeErr(e)))
	default:
		return queueError(fmt.Errorf("deliveries of %s ended", broker.ResultQueue(id)))
	}
}

// queueError labels err with the reason of broker.ConsumerStats.Errors
// it shows.
func queueError(err error) error {
	var ae *amqp.Error
	switch {
	case errors.Is(err, broker.ErrUnknownEndpoint) && strings.Contains(err.Error(), "vhost"):
		// The endpoint's virtual host is gone: it was deleted, maybe
		// by another service process.
		return &brokerutil.QueueError{Reason: broker.ReasonMissing, Forget: true, Err: err}
	case !errors.As(err, &ae):
		return &brokerutil.QueueError{Reason: broker.ReasonConnection, Err: err}
	case ae.Code == amqp.ResourceLocked || ae.Code == amqp.AccessRefused && strings.Contains(ae.Reason, "exclusive"):
		return &brokerutil.QueueError{Reason: broker.ReasonLocked, Err: err}
	case ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed && strings.Contains(ae.Reason, "refused"):
		return &brokerutil.QueueError{Reason: broker.ReasonRefused, Err: err}
	case ae.Code == amqp.NotFound:
		return &brokerutil.QueueError{Reason: broker.ReasonMissing, Err: err}
	}
	return &brokerutil.QueueError{Reason: broker.ReasonConnection, Err: err}
}

func closeErr(e *amqp.Error) error {
	if e == nil {
		return broker.ErrClosed
	}
	return classify(e)
}
