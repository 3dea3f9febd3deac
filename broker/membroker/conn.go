package membroker

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// Conn is an endpoint's connection to a Broker. It does not reconnect.
type Conn struct {
	b        *Broker
	ep       *endpoint
	exchange string
	sub      *sub
	log      *slog.Logger

	deliveries chan broker.Delivery
	life       brokerutil.Lifecycle // Done once the connection ended and the pump stopped
	pumped     chan struct{}        // closed when the pump has returned
	// halt is closed by StopDeliveries: the pump takes nothing more.
	halt     chan struct{}
	haltOnce sync.Once

	malformed atomic.Uint64
}

var (
	_ broker.EndpointConn    = (*Conn)(nil)
	_ broker.DeliveryStopper = (*Conn)(nil)
)

// DialEndpoint connects as an endpoint with the credentials EnsureEndpoint
// returned, consuming creds.TaskQueue with Config.Prefetch. It returns the
// interface so that b.DialEndpoint fits a dial function of the endpoint's
// link; the value is a *Conn.
func (b *Broker) DialEndpoint(ctx context.Context, creds broker.Credentials) (broker.EndpointConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("membroker: dial as %s: %w", creds.Username, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("membroker: dial as %s: %w", creds.Username, broker.ErrClosed)
	}
	ep := b.users[creds.Username]
	if ep == nil || subtle.ConstantTimeCompare([]byte(creds.Password), []byte(ep.password)) != 1 {
		return nil, fmt.Errorf("membroker: dial as %s: %w: ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN",
			creds.Username, broker.ErrAccessRefused)
	}
	if creds.TaskQueue != ep.tasks.name {
		return nil, fmt.Errorf("membroker: consume %s: %w: ACCESS_REFUSED - access to queue '%s' in vhost '/' refused for user '%s'",
			creds.TaskQueue, broker.ErrAccessRefused, creds.TaskQueue, creds.Username)
	}
	c := &Conn{
		b:          b,
		ep:         ep,
		exchange:   creds.ResultExchange,
		sub:        ep.tasks.subscribe(b.cfg.Prefetch),
		log:        b.log.With("endpoint", ep.id),
		deliveries: make(chan broker.Delivery),
		life:       brokerutil.NewLifecycle(),
		pumped:     make(chan struct{}),
		halt:       make(chan struct{}),
	}
	ep.conns[c] = struct{}{}
	go c.pump()
	go func() {
		<-c.life.Stopping()
		<-c.pumped
		c.life.Stopped()
	}()
	return c, nil
}

// pump moves task batches from the queue to Deliveries within the
// prefetch bound until the connection ends or StopDeliveries halts it.
func (c *Conn) pump() {
	defer close(c.pumped)
	defer close(c.deliveries)
	for {
		m, err := c.sub.nextOrHalt(c.life.Stopping(), c.halt)
		if errors.Is(err, errHalted) {
			return
		}
		if err != nil {
			c.end(err)
			return
		}
		tasks, err := broker.DecodeTasks(m.typ, m.body)
		if err != nil {
			// It can never succeed: drop it rather than redeliver it forever.
			c.malformed.Add(1)
			c.log.Warn("dropping malformed task batch", "type", m.typ, "bytes", len(m.body), "err", err)
			_ = c.sub.settle(m.seq, false)
			continue
		}
		seq := m.seq
		d := broker.Delivery{
			Tasks: tasks,
			Ack:   func() error { return c.sub.settle(seq, false) },
			Nack:  func() error { return c.sub.settle(seq, true) },
		}
		select {
		case c.deliveries <- d:
		case <-c.halt:
			_ = c.sub.settle(seq, true)
			return
		case <-c.life.Stopping():
			return
		}
	}
}

// StopDeliveries stops the pump and returns once Deliveries is closed; a
// batch taken but not yielded goes back to the queue. The connection
// stays open for publishing.
func (c *Conn) StopDeliveries(ctx context.Context) error {
	if err := c.usable(ctx); err != nil {
		return fmt.Errorf("membroker: stop deliveries: %w", err)
	}
	c.haltOnce.Do(func() { close(c.halt) })
	select {
	case <-c.pumped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("membroker: stop deliveries: %w", ctx.Err())
	}
}

// end ends the connection with err (the first cause wins): the pump stops
// and every unacked delivery goes back to the queue.
func (c *Conn) end(err error) {
	c.life.End(err)
	c.sub.close()
	c.b.mu.Lock()
	delete(c.ep.conns, c)
	c.b.mu.Unlock()
}

// Deliveries yields task batches; it is closed when the connection ends.
func (c *Conn) Deliveries() <-chan broker.Delivery { return c.deliveries }

// PublishResults queues results (split if larger than MaxMessage) on the
// endpoint's results exchange.
func (c *Conn) PublishResults(ctx context.Context, results []funcx.Result) error {
	if len(results) == 0 {
		return c.usable(ctx)
	}
	bodies, err := brokerutil.SplitResults(results, c.b.cfg.MaxMessage)
	if err != nil {
		return fmt.Errorf("membroker: publish results: %w", err)
	}
	return c.publish(ctx, broker.TypeResults, bodies)
}

// PublishHeartbeat queues a heartbeat on the endpoint's results exchange.
func (c *Conn) PublishHeartbeat(ctx context.Context, hb broker.Heartbeat) error {
	return c.publish(ctx, broker.TypeHeartbeat, [][]byte{broker.EncodeHeartbeat(hb)})
}

func (c *Conn) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.life.Usable()
}

func (c *Conn) publish(ctx context.Context, typ string, bodies [][]byte) error {
	if err := c.usable(ctx); err != nil {
		return fmt.Errorf("membroker: publish %s: %w", typ, err)
	}
	if c.exchange != broker.ResultExchange(c.ep.id) {
		// RabbitMQ closes the channel on a refused publish; so do we.
		err := fmt.Errorf("membroker: publish %s to %s: %w: ACCESS_REFUSED - access to exchange '%s' in vhost '/' refused for user '%s'",
			typ, c.exchange, broker.ErrAccessRefused, c.exchange, c.ep.username)
		c.end(err)
		<-c.life.Done()
		return err
	}
	if err := c.ep.results.publish(typ, bodies); err != nil {
		return fmt.Errorf("membroker: publish %s: %w", typ, err)
	}
	return nil
}

// Close ends the connection; unacked deliveries go back to the queue. It
// is idempotent.
func (c *Conn) Close() error {
	c.end(broker.ErrClosed)
	<-c.life.Done()
	return nil
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.life.Done() }

// Err is nil while the connection is open, then why it ended:
// broker.ErrClosed after Close.
func (c *Conn) Err() error { return c.life.Err() }

// Malformed counts task batches dropped because they could not be decoded.
func (c *Conn) Malformed() uint64 { return c.malformed.Load() }
