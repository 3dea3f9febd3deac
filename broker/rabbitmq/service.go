// Package rabbitmq is the RabbitMQ implementation of the broker: the
// service's side (Service, from New) and an endpoint's side (Conn, from
// DialEndpoint), over amqp091-go, plus RawRoundTrip, the baseline the
// end-to-end benchmarks compare against.
//
// # One virtual host per endpoint
//
// Each endpoint has a virtual host of its own, Config.VhostPrefix + its
// ID, which the service creates and deletes through the management HTTP
// API. In it the service declares, and owns, a durable direct exchange
// (broker.TaskExchange) routing task batches to the endpoint's durable
// task queue, and a durable fanout results exchange bound to a durable
// results queue. The endpoint's broker user has permissions in that
// virtual host only, and the least it needs: no configure, read of its
// task queue, write to its results exchange; and user limits on its
// connections and channels (Config.EndpointMaxConnections,
// EndpointMaxChannels).
//
// Why virtual hosts rather than permissions in one shared virtual host:
// RabbitMQ does not check permissions on a passive queue declaration, so
// in a shared virtual host any endpoint could learn the depth and
// consumers of any other endpoint's queue by name. A virtual host is
// RabbitMQ's own isolation boundary: an endpoint cannot even open a
// connection to another's. Unguessable queue names would also hide
// them, but they make a secret of every name that appears in logs and
// in the management UI, and would need storing or deriving besides.
// Virtual hosts also isolate the service's consumption for free: the
// service consumes each endpoint's results queue over a connection of
// its own, so one endpoint's missing, locked or deleted queue fails that
// connection's channel only, and is retried with a backoff of its own
// while every other endpoint's results keep flowing.
//
// The cost is connections: per endpoint, the service holds one consuming
// connection, and one publishing connection once it has set the
// endpoint up or sent it tasks, besides the endpoint's own. Give RabbitMQ a file
// descriptor limit of a few times the number of endpoints.
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
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

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
	user string // URL's user: granted every permission in each endpoint's vhost

	reg   *brokerutil.Registry
	stats brokerutil.Stats
	pool  pool
	// dials bounds the result consumers dialing at once, so that a
	// restarted service resuming many endpoints does not storm RabbitMQ.
	dials chan struct{}

	closeOnce sync.Once
	done      chan struct{} // closed by Close
}

var _ broker.Service = (*Service)(nil)

// maxConcurrentDials bounds Service.dials.
const maxConcurrentDials = 16

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
	user := "guest" // amqp091's default, as RabbitMQ's
	if u, _ := url.Parse(cfg.URL); u.User != nil {
		user = u.User.Username()
	}
	return &Service{
		cfg:   cfg,
		log:   brokerutil.Logger(cfg.Logger).With("component", "rabbitmq"),
		mgmt:  mgmt,
		user:  user,
		reg:   brokerutil.NewRegistry(),
		pool:  newPool(),
		dials: make(chan struct{}, maxConcurrentDials),
		done:  make(chan struct{}),
	}, nil
}

// vhost is the virtual host of an endpoint.
func (s *Service) vhost(endpointID string) string { return s.cfg.VhostPrefix + endpointID }

// dialer returns a function that dials the endpoint's virtual host, for
// purpose ("publish", "results").
func (s *Service) dialer(endpointID, purpose string) func(context.Context) (*amqp.Connection, error) {
	return func(ctx context.Context) (*amqp.Connection, error) {
		return s.dial(ctx, s.vhost(endpointID), purpose+" "+endpointID)
	}
}

func (s *Service) dial(ctx context.Context, vhost, name string) (*amqp.Connection, error) {
	conn, err := dial(ctx, dialConfig{
		url:       s.cfg.URL,
		vhost:     vhost,
		tls:       s.cfg.TLS,
		timeout:   s.cfg.DialTimeout,
		heartbeat: s.cfg.Heartbeat,
		name:      s.cfg.ConnectionName + " " + name,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s, vhost %s: %w", host(s.cfg.URL), vhost, err)
	}
	return conn, nil
}

func (s *Service) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// EnsureEndpoint creates the endpoint's virtual host, declares its
// queues and exchanges (all idempotent), and creates its user, or gives
// it a fresh password: existing connections stay open, new ones need the
// new password.
func (s *Service) EnsureEndpoint(ctx context.Context, endpointID string) (broker.Credentials, error) {
	if err := brokerutil.ValidateEndpointID(endpointID); err != nil {
		return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint: %w", err)
	}
	if s.closed() {
		return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint %s: %w", endpointID, broker.ErrClosed)
	}
	vhost, user, password := s.vhost(endpointID), brokerutil.Username(endpointID), brokerutil.NewPassword()
	steps := []struct {
		what string
		do   func() error
	}{
		{"create vhost " + vhost, func() error { return s.mgmt.putVhost(ctx, vhost, "funcX endpoint "+endpointID) }},
		{"grant the service user " + s.user, func() error { return s.mgmt.putPermissions(ctx, vhost, s.user, servicePermissions) }},
		{"declare", func() error {
			return s.withChannel(ctx, endpointID, func(ch *amqp.Channel) error { return declare(ch, endpointID) })
		}},
		{"create user " + user, func() error { return s.mgmt.putUser(ctx, user, password) }},
		{"grant user " + user, func() error { return s.mgmt.putPermissions(ctx, vhost, user, endpointPermissions(endpointID)) }},
		{"limit user " + user, func() error {
			if err := s.mgmt.putUserLimit(ctx, user, "max-connections", s.cfg.EndpointMaxConnections); err != nil {
				return err
			}
			return s.mgmt.putUserLimit(ctx, user, "max-channels", s.cfg.EndpointMaxChannels)
		}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			return broker.Credentials{}, fmt.Errorf("rabbitmq: ensure endpoint %s: %s: %w", endpointID, step.what, err)
		}
	}
	s.reg.Add(true, endpointID)
	return broker.Credentials{
		URL:            endpointURL(s.cfg.EndpointURL, user, password, vhost),
		Username:       user,
		Password:       password,
		TaskQueue:      broker.TaskQueue(endpointID),
		ResultExchange: broker.ResultExchange(endpointID),
	}, nil
}

// declare declares an endpoint's exchanges and queues, and binds them,
// in its virtual host.
func declare(ch *amqp.Channel, endpointID string) error {
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
}

// DeleteEndpoint deletes the endpoint's user (closing its connections),
// then its virtual host, with its queues, whatever they hold, and its
// exchanges. Deleting what does not exist is not an error.
func (s *Service) DeleteEndpoint(ctx context.Context, endpointID string) error {
	s.reg.Remove(endpointID)
	user := brokerutil.Username(endpointID)
	if err := s.mgmt.deleteUser(ctx, user); err != nil {
		return fmt.Errorf("rabbitmq: delete endpoint %s: %w", endpointID, err)
	}
	if err := s.mgmt.closeUserConnections(ctx, user); err != nil {
		return fmt.Errorf("rabbitmq: delete endpoint %s: %w", endpointID, err)
	}
	s.pool.drop(endpointID)
	if err := s.mgmt.deleteVhost(ctx, s.vhost(endpointID)); err != nil {
		return fmt.Errorf("rabbitmq: delete endpoint %s: %w", endpointID, err)
	}
	return nil
}

// Resume adds endpoints, set up before by this or another Service, to
// those ConsumeResults consumes: a restarted service passes the
// endpoints it has stored. One whose virtual host does not exist is
// counted (broker.ReasonMissing), logged and left out until
// EnsureEndpoint sets it up.
func (s *Service) Resume(ctx context.Context, endpointIDs []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rabbitmq: resume endpoints: %w", err)
	}
	if s.closed() {
		return fmt.Errorf("rabbitmq: resume endpoints: %w", broker.ErrClosed)
	}
	ids := make([]string, 0, len(endpointIDs))
	for _, id := range endpointIDs {
		if err := brokerutil.ValidateEndpointID(id); err != nil {
			s.log.Warn("not resuming an endpoint with an invalid ID", "endpoint", id, "err", err)
			continue
		}
		ids = append(ids, id)
	}
	s.reg.Add(false, ids...)
	return nil
}

// PublishTasks publishes the batch (split if larger than MaxMessage) to
// the endpoint's task queue and returns once RabbitMQ confirmed every
// part. A lost connection is dialed again and the batch published again
// until PublishTimeout: a part may then arrive twice, never not at all.
func (s *Service) PublishTasks(ctx context.Context, endpointID string, tasks []funcx.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	if err := brokerutil.ValidateEndpointID(endpointID); err != nil {
		return fmt.Errorf("rabbitmq: publish tasks: %w: %w", broker.ErrUnknownEndpoint, err)
	}
	bodies, err := brokerutil.SplitTasks(tasks, s.cfg.MaxMessage)
	if err != nil {
		return fmt.Errorf("rabbitmq: publish tasks to %s: %w", endpointID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	retry := brokerutil.Backoff{Min: s.cfg.ReconnectDelay, Max: s.cfg.MaxReconnectDelay}
	for {
		p, err := s.publisher(ctx, endpointID)
		if err == nil {
			err = p.publish(ctx, broker.TaskExchange, endpointID, broker.TypeTasks, broker.ContentTypeWire, bodies)
			if err == nil {
				return nil
			}
		}
		if permanent(err) || ctx.Err() != nil {
			if errors.Is(err, broker.ErrUnknownEndpoint) {
				s.pool.drop(endpointID) // keeps no connection for an endpoint never set up
			}
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
	s.closeOnce.Do(func() {
		close(s.done)
		s.pool.close()
		s.mgmt.close()
	})
	return nil
}

// Ping checks that RabbitMQ answers both on AMQP, in Config.Vhost, and on
// the management API.
func (s *Service) Ping(ctx context.Context) error {
	conn, err := s.dial(ctx, s.cfg.Vhost, "ping")
	if err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	_ = conn.Close()
	if err := s.mgmt.do(ctx, http.MethodGet, path("overview"), nil, nil, false); err != nil {
		return fmt.Errorf("rabbitmq: ping: %w", err)
	}
	return nil
}

// Malformed counts result messages ConsumeResults dropped because they
// could not be decoded.
func (s *Service) Malformed() uint64 { return s.stats.Errors(broker.ReasonMalformed) }

// ConsumerStats reports how ConsumeResults fares.
func (s *Service) ConsumerStats() broker.ConsumerStats { return s.stats.Snapshot(s.reg.Len()) }
