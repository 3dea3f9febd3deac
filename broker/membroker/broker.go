// Package membroker is an in-process broker: it implements broker.Service
// and, through (*Broker).DialEndpoint, broker.EndpointConn, for the
// embedded quickstart (service and endpoint in one process) and for fast
// tests of everything above the broker.
//
// It keeps the RabbitMQ semantics the fabric relies on, checked by the
// same conformance suite (brokertest) as the RabbitMQ implementation:
//
//   - Queues live as long as the Broker; a publish returns once the batch
//     is queued (the in-process equivalent of a publisher confirm).
//   - Consumers ack manually under a prefetch bound; a connection that
//     ends with deliveries unacked (Close, Sever, an endpoint "crash")
//     returns them to the queue in their original order.
//   - Credentials are checked: a wrong password or another endpoint's
//     queue or exchange fails with broker.ErrAccessRefused and an
//     "ACCESS_REFUSED" message, as RabbitMQ's reply would say.
//   - ConsumeResults acks a message only once the handler returned nil
//     and requeues it, after a growing pause, when it failed; a message
//     that cannot be decoded is logged, counted and dropped.
//   - Batches larger than Config.MaxMessage are split.
//
// Nothing is written to disk: a Broker's queues end with it.
package membroker

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// Defaults of Config.
const (
	DefaultPrefetch      = 64
	DefaultRetryDelay    = 100 * time.Millisecond
	DefaultMaxRetryDelay = 5 * time.Second
)

// Config configures a Broker. The zero value is ready to use.
type Config struct {
	// Prefetch bounds the unacknowledged task batches of one endpoint
	// connection. Defaults to DefaultPrefetch.
	Prefetch int
	// MaxMessage bounds one message body in bytes: publishers split
	// larger batches. At most broker.DefaultMaxMessage, the size
	// consumers accept. Defaults to broker.DefaultMaxMessage.
	MaxMessage int
	// RetryDelay is the pause before a result message whose handler
	// failed is requeued; it doubles with each consecutive failure up to
	// MaxRetryDelay. Defaults to DefaultRetryDelay.
	RetryDelay time.Duration
	// MaxRetryDelay caps RetryDelay's growth. Defaults to
	// DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
	// Logger receives warnings (dropped malformed messages, failing
	// handlers). Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Prefetch = cmp.Or(c.Prefetch, DefaultPrefetch)
	c.MaxMessage = cmp.Or(c.MaxMessage, broker.DefaultMaxMessage)
	c.RetryDelay = cmp.Or(c.RetryDelay, DefaultRetryDelay)
	c.MaxRetryDelay = cmp.Or(c.MaxRetryDelay, DefaultMaxRetryDelay)
	return c
}

func (c *Config) validate() error {
	switch {
	case c.Prefetch < 0:
		return fmt.Errorf("membroker: Prefetch %d is negative", c.Prefetch)
	case c.MaxMessage < 0 || c.MaxMessage > broker.DefaultMaxMessage:
		return fmt.Errorf("membroker: MaxMessage %d is outside 1..%d", c.MaxMessage, broker.DefaultMaxMessage)
	case c.RetryDelay < 0:
		return fmt.Errorf("membroker: RetryDelay %s is negative", c.RetryDelay)
	case c.MaxRetryDelay < c.RetryDelay:
		return fmt.Errorf("membroker: MaxRetryDelay %s is below RetryDelay %s", c.MaxRetryDelay, c.RetryDelay)
	}
	return nil
}

// Broker is the in-process broker. It is safe for concurrent use.
type Broker struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	endpoints map[string]*endpoint // by endpoint ID
	users     map[string]*endpoint // by broker user name
	// changed is closed and replaced when endpoints come or go, so that
	// ConsumeResults starts and stops consuming their result queues.
	changed chan struct{}
	closed  bool
	done    chan struct{}

	malformed atomic.Uint64
}

type endpoint struct {
	id       string
	username string
	tasks    *queue
	results  *queue
	// Guarded by Broker.mu.
	password string
	conns    map[*Conn]struct{}
}

var _ broker.Service = (*Broker)(nil)

// New returns a Broker.
func New(cfg Config) (*Broker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Broker{
		cfg:       cfg,
		log:       brokerutil.Logger(cfg.Logger).With("component", "membroker"),
		endpoints: make(map[string]*endpoint),
		users:     make(map[string]*endpoint),
		changed:   make(chan struct{}),
		done:      make(chan struct{}),
	}, nil
}

func (b *Broker) broadcastLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// EnsureEndpoint creates the endpoint's queues the first time and gives
// its user a fresh password every time; connections already open stay
// open, as in RabbitMQ.
func (b *Broker) EnsureEndpoint(ctx context.Context, endpointID string) (broker.Credentials, error) {
	if err := ctx.Err(); err != nil {
		return broker.Credentials{}, fmt.Errorf("membroker: ensure endpoint %s: %w", endpointID, err)
	}
	if err := brokerutil.ValidateEndpointID(endpointID); err != nil {
		return broker.Credentials{}, fmt.Errorf("membroker: ensure endpoint: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return broker.Credentials{}, fmt.Errorf("membroker: ensure endpoint %s: %w", endpointID, broker.ErrClosed)
	}
	ep := b.endpoints[endpointID]
	if ep == nil {
		ep = &endpoint{
			id:       endpointID,
			username: brokerutil.Username(endpointID),
			tasks:    newQueue(broker.TaskQueue(endpointID)),
			results:  newQueue(broker.ResultQueue(endpointID)),
			conns:    make(map[*Conn]struct{}),
		}
		b.endpoints[endpointID] = ep
		b.users[ep.username] = ep
		b.broadcastLocked()
	}
	ep.password = brokerutil.NewPassword()
	return broker.Credentials{
		Username:       ep.username,
		Password:       ep.password,
		TaskQueue:      ep.tasks.name,
		ResultExchange: broker.ResultExchange(endpointID),
	}, nil
}

// DeleteEndpoint deletes the endpoint's queues (and what they hold) and
// its user. Its open connections end. Deleting an unknown endpoint is not
// an error.
func (b *Broker) DeleteEndpoint(ctx context.Context, endpointID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("membroker: delete endpoint %s: %w", endpointID, err)
	}
	b.mu.Lock()
	ep := b.endpoints[endpointID]
	if ep == nil {
		b.mu.Unlock()
		return nil
	}
	conns := b.connsLocked(ep)
	delete(b.endpoints, endpointID)
	delete(b.users, ep.username)
	b.broadcastLocked()
	b.mu.Unlock()
	ep.tasks.delete()
	ep.results.delete()
	// As RabbitMQ cancels the consumers of a deleted queue (and the
	// service closes a deleted user's connections), even a connection
	// whose endpoint is not reading ends now.
	endAll(conns, fmt.Errorf("membroker: endpoint %s deleted: %w", endpointID, errQueueDeleted))
	return nil
}

// PublishTasks queues the batch (split if larger than MaxMessage) on the
// endpoint's task queue.
func (b *Broker) PublishTasks(ctx context.Context, endpointID string, tasks []funcx.Task) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("membroker: publish tasks to %s: %w", endpointID, err)
	}
	if len(tasks) == 0 {
		return nil
	}
	bodies, err := brokerutil.SplitTasks(tasks, b.cfg.MaxMessage)
	if err != nil {
		return fmt.Errorf("membroker: publish tasks to %s: %w", endpointID, err)
	}
	ep, err := b.endpoint(endpointID)
	if err != nil {
		return fmt.Errorf("membroker: publish tasks: %w", err)
	}
	return ep.tasks.publish(broker.TypeTasks, bodies)
}

func (b *Broker) endpoint(id string) (*endpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, broker.ErrClosed
	}
	ep := b.endpoints[id]
	if ep == nil {
		return nil, fmt.Errorf("endpoint %s: NOT_FOUND - no task queue: %w", id, broker.ErrUnknownEndpoint)
	}
	return ep, nil
}

// Close ends every connection (their unacked deliveries are lost with the
// Broker) and makes ConsumeResults return. It is idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	conns := b.connsLocked(nil)
	b.mu.Unlock()
	endAll(conns, broker.ErrClosed)
	return nil
}

// connsLocked lists the connections of ep, or of every endpoint if ep is
// nil.
func (b *Broker) connsLocked(ep *endpoint) []*Conn {
	var conns []*Conn
	for _, e := range b.endpoints {
		if ep != nil && e != ep {
			continue
		}
		for c := range e.conns {
			conns = append(conns, c)
		}
	}
	return conns
}

func endAll(conns []*Conn, err error) {
	for _, c := range conns {
		c.end(err)
	}
	for _, c := range conns {
		<-c.Done()
	}
}

// Malformed counts result-queue messages ConsumeResults dropped because
// they could not be decoded.
func (b *Broker) Malformed() uint64 { return b.malformed.Load() }
