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
//   - ConsumeResults consumes the result queues of the endpoints set up
//     through the Broker or named to Resume, each on its own, and acks a
//     message only once the handler returned nil; a failed message is
//     held and tried again after a growing pause, and dropped as poisoned
//     after Config.PoisonAfter failures while others succeed; a message
//     that cannot be decoded is logged, counted and dropped.
//   - Attach gives a second Service on the same queues, as a second
//     service process on one RabbitMQ: it consumes only the endpoints set
//     up through it or named to its Resume.
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
	DefaultPoisonAfter   = 10
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
	// PoisonAfter is how many times a result message's handler may fail
	// before the message is dropped as poisoned, provided other messages
	// were handled meanwhile (a handler failing for every message, its
	// store down, never drops any). RetryDelay spaces out the attempts,
	// and a locked result queue is retried with the same delays.
	// Defaults to DefaultPoisonAfter.
	PoisonAfter int
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
	c.PoisonAfter = cmp.Or(c.PoisonAfter, DefaultPoisonAfter)
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
	case c.PoisonAfter < 1:
		return fmt.Errorf("membroker: PoisonAfter %d is below 1", c.PoisonAfter)
	}
	return nil
}

// Broker is the in-process broker, and a Service on it. It is safe for
// concurrent use.
type Broker struct {
	*hub
	// Of this Service (see Attach): the endpoints its ConsumeResults
	// consumes, its figures, and its end.
	reg     *brokerutil.Registry
	stats   brokerutil.Stats
	stop    chan struct{} // closed by Close, or the hub's
	stopped sync.Once
}

// hub is what the Services of one Broker share: the endpoints, their
// queues and users, and their connections.
type hub struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	endpoints map[string]*endpoint // by endpoint ID
	users     map[string]*endpoint // by broker user name
	services  []*Broker            // every Service on the hub, closed with it
	closed    bool
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
	h := &hub{
		cfg:       cfg,
		log:       brokerutil.Logger(cfg.Logger).With("component", "membroker"),
		endpoints: make(map[string]*endpoint),
		users:     make(map[string]*endpoint),
	}
	return h.service(), nil
}

// Attach returns another Service on b's endpoints, queues and users, as
// a restarted or second service process on the same RabbitMQ would be:
// its ConsumeResults consumes only the endpoints set up through it or
// named to its Resume. Closing it ends its ConsumeResults and leaves b
// open; closing the Broker New returned closes every attached one too.
func (b *Broker) Attach() *Broker { return b.hub.service() }

func (h *hub) service() *Broker {
	s := &Broker{hub: h, reg: brokerutil.NewRegistry(), stop: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.close()
	} else {
		h.services = append(h.services, s)
	}
	return s
}

func (b *Broker) close() { b.stopped.Do(func() { close(b.stop) }) }

// closedLocked reports whether b or its hub is closed.
func (b *Broker) closedLocked() bool {
	select {
	case <-b.stop:
		return true
	default:
		return b.hub.closed
	}
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
	if b.closedLocked() {
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
	}
	ep.password = brokerutil.NewPassword()
	b.reg.Add(true, endpointID)
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
	b.reg.Remove(endpointID)
	b.mu.Lock()
	ep := b.endpoints[endpointID]
	if ep == nil {
		b.mu.Unlock()
		return nil
	}
	conns := b.connsLocked(ep)
	delete(b.endpoints, endpointID)
	delete(b.users, ep.username)
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

// Resume adds endpoints to those ConsumeResults consumes: endpoints set
// up through another Service of the Broker (see Attach). An ID the
// Broker does not have is counted as missing and left out.
func (b *Broker) Resume(ctx context.Context, endpointIDs []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("membroker: resume endpoints: %w", err)
	}
	b.mu.Lock()
	closed := b.closedLocked()
	b.mu.Unlock()
	if closed {
		return fmt.Errorf("membroker: resume endpoints: %w", broker.ErrClosed)
	}
	b.reg.Add(false, endpointIDs...)
	return nil
}

func (b *Broker) endpoint(id string) (*endpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closedLocked() {
		return nil, broker.ErrClosed
	}
	ep := b.endpoints[id]
	if ep == nil {
		return nil, fmt.Errorf("endpoint %s: NOT_FOUND - no task queue: %w", id, broker.ErrUnknownEndpoint)
	}
	return ep, nil
}

// Close makes ConsumeResults return. On the Broker New returned, it also
// ends every connection (their unacked deliveries are lost with the
// Broker) and closes every attached Service. It is idempotent.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed || b != b.services[0] {
		b.mu.Unlock()
		b.close()
		return nil
	}
	b.closed = true
	services := b.services
	conns := b.connsLocked(nil)
	b.mu.Unlock()
	for _, s := range services {
		s.close()
	}
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
func (b *Broker) Malformed() uint64 { return b.stats.Errors(broker.ReasonMalformed) }

// ConsumerStats reports how ConsumeResults fares.
func (b *Broker) ConsumerStats() broker.ConsumerStats { return b.stats.Snapshot(b.reg.Len()) }
