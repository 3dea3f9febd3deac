// Package rabbitmq is the RabbitMQ implementation of the broker: the
// service's side (Service, from New) and an endpoint's side (Conn, from
// DialEndpoint), over amqp091-go, plus RawRoundTrip, the baseline the
// end-to-end benchmarks compare against.
//
// # Resources and users
//
// One durable direct exchange, broker.TaskExchange, routes task batches to
// each endpoint's durable task queue (routing key = endpoint ID). Each
// endpoint has a durable fanout results exchange bound to a durable
// results queue the service consumes. Each endpoint gets its own broker
// user, created through the management HTTP API, whose permissions reach
// only names under "funcx.ep.<id>.".
//
// # Delivery
//
// Messages are persistent and published with publisher confirms and the
// mandatory flag: a publish returns once RabbitMQ has the message on disk
// (for a durable queue), and a publish no queue takes fails with
// broker.ErrUnknownEndpoint instead of vanishing. Consumers ack manually
// under a prefetch bound. The Service reconnects on its own; an endpoint's
// Conn does not (the endpoint dials again).
package rabbitmq

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// Service is the service's side of RabbitMQ. It is safe for concurrent
// use.
type Service struct {
	cfg  Config
	log  *slog.Logger
	mgmt *management
	reg  registry

	mu     sync.Mutex // guards conn, pubs, next and closed
	conn   *amqp.Connection
	pubs   []*confirmCh
	next   int
	closed bool
	done   chan struct{} // closed by Close

	malformed atomic.Uint64
}

var _ broker.Service = (*Service)(nil)

// New returns a Service. It connects lazily: the first call that needs
// RabbitMQ dials it, and a lost connection is dialed again.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	mgmt, err := newManagement(cfg.ManagementURL, cfg.ManagementUser, cfg.ManagementPassword, cfg.TLS, cfg.ManagementTimeout)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	return &Service{
		cfg:  cfg,
		log:  brokerutil.Logger(cfg.Logger).With("component", "rabbitmq"),
		mgmt: mgmt,
		reg:  newRegistry(),
		pubs: make([]*confirmCh, cfg.PublishChannels),
		done: make(chan struct{}),
	}, nil
}

func (s *Service) dial(ctx context.Context, purpose string) (*amqp.Connection, error) {
	conn, err := dial(ctx, dialConfig{
		url:       s.cfg.URL,
		vhost:     s.cfg.Vhost,
		tls:       s.cfg.TLS,
		timeout:   s.cfg.DialTimeout,
		heartbeat: s.cfg.Heartbeat,
		name:      s.cfg.ConnectionName + " " + purpose,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", host(s.cfg.URL), err)
	}
	return conn, nil
}

// connLocked returns the publishing connection, dialing it if needed.
func (s *Service) connLocked(ctx context.Context) (*amqp.Connection, error) {
	if s.closed {
		return nil, broker.ErrClosed
	}
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	conn, err := s.dial(ctx, "publish")
	if err != nil {
		return nil, err
	}
	s.conn = conn
	clear(s.pubs)
	return conn, nil
}

// publisher returns one of the confirm channels, round robin, opening it
// (and the connection) if needed.
func (s *Service) publisher(ctx context.Context) (*confirmCh, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.connLocked(ctx)
	if err != nil {
		return nil, err
	}
	i := s.next % len(s.pubs)
	s.next++
	if p := s.pubs[i]; p != nil && !p.closed() {
		return p, nil
	}
	p, err := newConfirmCh(conn)
	if err != nil {
		return nil, err
	}
	s.pubs[i] = p
	return p, nil
}

// withChannel runs fn on a fresh channel of the publishing connection: a
// failed declaration closes its channel, so none is shared.
func (s *Service) withChannel(ctx context.Context, fn func(*amqp.Channel) error) error {
	s.mu.Lock()
	conn, err := s.connLocked(ctx)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", classify(err))
	}
	defer ch.Close()
	return fn(ch)
}

// EnsureEndpoint declares the endpoint's queues and exchange (idempotent)
// and creates its user, or gives it a fresh password: existing
// connections stay open, new ones need the new password.
func (s *Service) EnsureEndpoint(ctx context.Context, endpointID string) (broker.Credentials, error) {
	if err := brokerutil.ValidateEndpointID(endpointID); err != nil {
		return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint: %w", err)
	}
	err := s.withChannel(ctx, func(ch *amqp.Channel) error {
		tasks, exchange, results := broker.TaskQueue(endpointID), broker.ResultExchange(endpointID), broker.ResultQueue(endpointID)
		for _, step := range []struct {
			what string
			do   func() error
		}{
			{"declare exchange " + broker.TaskExchange, func() error {
				return ch.ExchangeDeclare(broker.TaskExchange, amqp.ExchangeDirect, true, false, false, false, nil)
			}},
			{"declare queue " + tasks, func() error { _, err := ch.QueueDeclare(tasks, true, false, false, false, nil); return err }},
			{"bind queue " + tasks, func() error { return ch.QueueBind(tasks, endpointID, broker.TaskExchange, false, nil) }},
			{"declare exchange " + exchange, func() error {
				return ch.ExchangeDeclare(exchange, amqp.ExchangeFanout, true, false, false, false, nil)
			}},
			{"declare queue " + results, func() error { _, err := ch.QueueDeclare(results, true, false, false, false, nil); return err }},
			{"bind queue " + results, func() error { return ch.QueueBind(results, "", exchange, false, nil) }},
		} {
			if err := step.do(); err != nil {
				return fmt.Errorf("%s: %w", step.what, classify(err))
			}
		}
		return nil
	})
	if err != nil {
		return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint %s: %w", endpointID, err)
	}
	user, password := brokerutil.Username(endpointID), brokerutil.NewPassword()
	if err := s.mgmt.putUser(ctx, user, password); err != nil {
		return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint %s: %w", endpointID, err)
	}
	if err := s.mgmt.putPermissions(ctx, s.cfg.Vhost, user, endpointPermissions(endpointID)); err != nil {
		return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint %s: %w", endpointID, err)
	}
	s.reg.add(endpointID)
	return broker.Credentials{
		URL:            endpointURL(s.cfg.EndpointURL, user, password, s.cfg.Vhost),
		Username:       user,
		Password:       password,
		TaskQueue:      broker.TaskQueue(endpointID),
		ResultExchange: broker.ResultExchange(endpointID),
	}, nil
}

// DeleteEndpoint deletes the endpoint's user (closing its connections),
// then its queues, with whatever they hold, and its exchange. Deleting
// what does not exist is not an error.
func (s *Service) DeleteEndpoint(ctx context.Context, endpointID string) error {
	s.reg.remove(endpointID)
	user := brokerutil.Username(endpointID)
	if err := s.mgmt.deleteUser(ctx, user); err != nil {
		return fmt.Errorf("rabbitmq: delete endpoint %s: %w", endpointID, err)
	}
	if err := s.mgmt.closeUserConnections(ctx, user); err != nil {
		return fmt.Errorf("rabbitmq: delete endpoint %s: %w", endpointID, err)
	}
	err := s.withChannel(ctx, func(ch *amqp.Channel) error {
		for _, q := range []string{broker.TaskQueue(endpointID), broker.ResultQueue(endpointID)} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				return fmt.Errorf("delete queue %s: %w", q, classify(err))
			}
		}
		if err := ch.ExchangeDelete(broker.ResultExchange(endpointID), false, false); err != nil {
			return fmt.Errorf("delete exchange %s: %w", broker.ResultExchange(endpointID), classify(err))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rabbitmq: delete endpoint %s: %w", endpointID, err)
	}
	return nil
}

// Watch adds endpoints whose result queues ConsumeResults consumes,
// besides those EnsureEndpoint set up: a restarted service passes the
// endpoints it knows. IDs without a queue are skipped (and logged).
func (s *Service) Watch(endpointIDs ...string) { s.reg.add(endpointIDs...) }

// PublishTasks publishes the batch (split if larger than MaxMessage) to
// the endpoint's task queue and returns once RabbitMQ confirmed every
// part. A lost connection is dialed again and the batch published again
// until PublishTimeout: a part may then arrive twice, never not at all.
func (s *Service) PublishTasks(ctx context.Context, endpointID string, tasks []funcx.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	bodies, err := brokerutil.SplitTasks(tasks, s.cfg.MaxMessage)
	if err != nil {
		return fmt.Errorf("rabbitmq: publish tasks to %s: %w", endpointID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	retry := brokerutil.Backoff{Min: s.cfg.ReconnectDelay, Max: s.cfg.MaxReconnectDelay}
	for {
		p, err := s.publisher(ctx)
		if err == nil {
			err = p.publish(ctx, broker.TaskExchange, endpointID, broker.TypeTasks, broker.ContentTypeWire, bodies)
			if err == nil {
				return nil
			}
		}
		if permanent(err) || ctx.Err() != nil {
			return fmt.Errorf("rabbitmq: publish tasks to %s: %w", endpointID, err)
		}
		d := retry.Next()
		s.log.Warn("publish tasks failed; retrying", "endpoint", endpointID, "retry_in", d, "err", err)
		if !brokerutil.Sleep(ctx, d) {
			return fmt.Errorf("rabbitmq: publish tasks to %s: %w (last error: %w)", endpointID, ctx.Err(), err)
		}
	}
}

// Close closes the connections and makes ConsumeResults return. It is
// idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	conn, pubs := s.conn, s.pubs
	s.mu.Unlock()
	for _, p := range pubs {
		if p != nil {
			p.close()
		}
	}
	if conn != nil {
		_ = conn.Close()
	}
	s.mgmt.close()
	return nil
}

// Ping checks that RabbitMQ answers both on AMQP and on the management
// API.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.withChannel(ctx, func(*amqp.Channel) error { return nil }); err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	if err := s.mgmt.do(ctx, http.MethodGet, path("overview"), nil, nil, false); err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	return nil
}

// Malformed counts result messages ConsumeResults dropped because they
// could not be decoded.
func (s *Service) Malformed() uint64 { return s.malformed.Load() }
