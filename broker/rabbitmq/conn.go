package rabbitmq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// Conn is an endpoint's connection to RabbitMQ: one channel consuming its
// task queue, one confirm channel publishing to its results exchange. It
// does not reconnect: it ends (Done, Err) when the connection, either
// channel or the consumer goes, and the endpoint dials again.
type Conn struct {
	conn       *amqp.Connection
	tasks      *amqp.Channel // consumes the task queue
	pub        *confirmCh
	exchange   string
	maxMessage int
	log        *slog.Logger

	deliveries chan broker.Delivery
	life       brokerutil.Lifecycle // Done once both goroutines have stopped
	pumped     chan struct{}        // closed when the pump has returned

	// halt is closed by StopDeliveries: the pump yields nothing more.
	halt     chan struct{}
	stopOnce sync.Once
	// cancelled is closed once the consumer is cancelled (cancelErr says
	// whether it was).
	cancelled chan struct{}
	cancelErr error

	malformed atomic.Uint64
}

var (
	_ broker.EndpointConn    = (*Conn)(nil)
	_ broker.DeliveryStopper = (*Conn)(nil)
)

// consumerTag names the task queue's consumer on its channel, the only
// one there, so that StopDeliveries can cancel it.
const consumerTag = "funcx-endpoint-tasks"

var (
	errConsumerCancelled = errors.New("rabbitmq: task queue consumer cancelled by the broker (queue deleted?)")
	errAlreadySettled    = errors.New("rabbitmq: delivery already acknowledged or returned")
)

// DialEndpoint connects with the credentials EnsureEndpoint returned:
// creds.URL gives the broker and vhost, creds.Username and creds.Password
// log in (they override the URL's user info). Refused credentials or
// permissions fail with broker.ErrAccessRefused.
func DialEndpoint(ctx context.Context, creds broker.Credentials, cfg EndpointConfig) (*Conn, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if creds.URL == "" {
		return nil, fmt.Errorf("rabbitmq: dial endpoint: credentials have no URL")
	}
	conn, err := dial(ctx, dialConfig{
		url:       creds.URL,
		user:      creds.Username,
		password:  creds.Password,
		tls:       cfg.TLS,
		timeout:   cfg.DialTimeout,
		heartbeat: cfg.Heartbeat,
		name:      cmp.Or(cfg.ConnectionName, creds.Username),
	})
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: dial %s as %s: %w", host(creds.URL), creds.Username, err)
	}
	c, err := start(conn, creds, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rabbitmq: dial as %s: %w", creds.Username, err)
	}
	return c, nil
}

func start(conn *amqp.Connection, creds broker.Credentials, cfg EndpointConfig) (*Conn, error) {
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", classify(err))
	}
	if err := ch.Qos(cfg.Prefetch, 0, false); err != nil {
		return nil, fmt.Errorf("set prefetch: %w", classify(err))
	}
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	cancelled := ch.NotifyCancel(make(chan string, 1))
	deliveries, err := ch.Consume(creds.TaskQueue, consumerTag, false, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", creds.TaskQueue, classify(err))
	}
	pub, err := newConfirmCh(conn)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		conn:       conn,
		tasks:      ch,
		pub:        pub,
		exchange:   creds.ResultExchange,
		maxMessage: cfg.MaxMessage,
		log:        brokerutil.Logger(cfg.Logger).With("component", "rabbitmq", "user", creds.Username),
		deliveries: make(chan broker.Delivery),
		life:       brokerutil.NewLifecycle(),
		pumped:     make(chan struct{}),
		halt:       make(chan struct{}),
		cancelled:  make(chan struct{}),
	}
	go func() {
		defer close(c.pumped)
		c.pump(deliveries)
	}()
	go func() {
		c.watch(connClosed, chClosed, cancelled)
		<-c.pumped
		c.life.Stopped()
	}()
	return c, nil
}

// watch ends the connection at the first sign of its end.
func (c *Conn) watch(connClosed, chClosed <-chan *amqp.Error, cancelled <-chan string) {
	var err error
	select {
	case <-c.life.Stopping():
		err = broker.ErrClosed
	case e := <-connClosed:
		err = fmt.Errorf("rabbitmq: connection closed: %w", closeErr(e))
	case e := <-chClosed:
		err = fmt.Errorf("rabbitmq: task channel closed: %w", closeErr(e))
	case <-cancelled:
		err = errConsumerCancelled
	case <-c.pub.done:
		err = fmt.Errorf("rabbitmq: publish channel closed: %w", c.pub.err)
	}
	c.life.End(err)
	// Closing the connection closes the channels, which ends the
	// deliveries (and so the pump) and fails pending publishes.
	_ = c.conn.Close()
	<-c.pub.done
}

// pump decodes task batches into Deliveries until the deliveries end
// (the connection does, or StopDeliveries cancelled the consumer).
func (c *Conn) pump(in <-chan amqp.Delivery) {
	defer close(c.deliveries)
	for d := range in {
		select {
		case <-c.halt:
			// Came before the consumer's cancel: back to the queue.
			_ = d.Nack(false, true)
			continue
		default:
		}
		tasks, err := broker.DecodeTasks(d.Type, d.Body)
		if err != nil {
			// It can never succeed: drop it rather than redeliver it forever.
			c.malformed.Add(1)
			c.log.Warn("dropping malformed task batch", "type", d.Type, "bytes", len(d.Body), "err", err)
			_ = d.Ack(false)
			continue
		}
		select {
		case c.deliveries <- delivery(d, tasks):
		case <-c.halt:
			_ = d.Nack(false, true)
		case <-c.life.Stopping():
			// Unacked deliveries return to the queue when the
			// connection closes.
			return
		}
	}
}

// delivery wraps d; a second Ack or Nack fails here instead of reaching
// RabbitMQ, which would close the channel for an unknown delivery tag.
func delivery(d amqp.Delivery, tasks []funcx.Task) broker.Delivery {
	var settled atomic.Bool
	settle := func(what string, f func() error) error {
		if !settled.CompareAndSwap(false, true) {
			return errAlreadySettled
		}
		if err := f(); err != nil {
			return fmt.Errorf("rabbitmq: %s task batch: %w", what, err)
		}
		return nil
	}
	return broker.Delivery{
		Tasks: tasks,
		Ack:   func() error { return settle("ack", func() error { return d.Ack(false) }) },
		Nack:  func() error { return settle("nack", func() error { return d.Nack(false, true) }) },
	}
}

// Deliveries yields task batches; it is closed when the connection ends.
func (c *Conn) Deliveries() <-chan broker.Delivery { return c.deliveries }

// PublishResults publishes results (split if larger than MaxMessage) to
// the results exchange and returns once RabbitMQ confirmed every part.
func (c *Conn) PublishResults(ctx context.Context, results []funcx.Result) error {
	if len(results) == 0 {
		return c.life.Usable()
	}
	bodies, err := brokerutil.SplitResults(results, c.maxMessage)
	if err != nil {
		return fmt.Errorf("rabbitmq: publish results: %w", err)
	}
	return c.publish(ctx, broker.TypeResults, broker.ContentTypeWire, bodies)
}

// PublishHeartbeat publishes a heartbeat to the results exchange and
// returns once RabbitMQ confirmed it.
func (c *Conn) PublishHeartbeat(ctx context.Context, hb broker.Heartbeat) error {
	return c.publish(ctx, broker.TypeHeartbeat, broker.ContentTypeJSON, [][]byte{broker.EncodeHeartbeat(hb)})
}

func (c *Conn) publish(ctx context.Context, typ, contentType string, bodies [][]byte) error {
	if err := c.life.Usable(); err != nil {
		return fmt.Errorf("rabbitmq: publish %s: %w", typ, err)
	}
	if err := c.pub.publish(ctx, c.exchange, "", typ, contentType, bodies); err != nil {
		return fmt.Errorf("rabbitmq: publish %s to %s: %w", typ, c.exchange, err)
	}
	return nil
}

// StopDeliveries cancels the task queue's consumer and returns once
// Deliveries is closed; task batches received but not yielded go back to
// the queue. The connection stays open for publishing.
func (c *Conn) StopDeliveries(ctx context.Context) error {
	if err := c.life.Usable(); err != nil {
		return fmt.Errorf("rabbitmq: stop deliveries: %w", err)
	}
	c.stopOnce.Do(func() {
		close(c.halt)
		// Channel.Cancel takes no context: it returns at the broker's
		// cancel-ok or when the channel closes (Close closes it).
		go func() {
			c.cancelErr = c.tasks.Cancel(consumerTag, false)
			close(c.cancelled)
		}()
	})
	select {
	case <-c.cancelled:
		if c.cancelErr != nil {
			return fmt.Errorf("rabbitmq: stop deliveries: cancel the task queue consumer: %w", classify(c.cancelErr))
		}
	case <-ctx.Done():
		return fmt.Errorf("rabbitmq: stop deliveries: %w", ctx.Err())
	}
	select {
	case <-c.pumped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rabbitmq: stop deliveries: %w", ctx.Err())
	}
}

// Close closes the connection; unacked deliveries return to the queue.
// It is idempotent.
func (c *Conn) Close() error { return c.life.Close() }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.life.Done() }

// Err is nil while the connection is open, then why it ended:
// broker.ErrClosed after Close.
func (c *Conn) Err() error { return c.life.Err() }

// Malformed counts task batches dropped because they could not be
// decoded.
func (c *Conn) Malformed() uint64 { return c.malformed.Load() }
