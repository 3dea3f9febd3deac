// Package broker is the message broker between the service and its
// endpoints: per endpoint, a durable task queue the service publishes to
// and a results exchange (and queue) the endpoint publishes results and
// heartbeats to.
//
// Two implementations share these interfaces and one conformance suite:
// RabbitMQ (amqp091-go, with publisher confirms, manual acks, a virtual
// host and a least-privilege broker user per endpoint) and an in-process
// broker for the embedded quickstart and fast tests.
//
// Every message carries a batch: one AMQP message is many tasks or many
// results, so the broker's per-message costs are paid per batch.
package broker

import (
	"context"
	"errors"
	"time"

	"github.com/funcx-go/funcx"
)

// Names of one endpoint's resources. An endpoint's broker user may read
// its task queue and write to its results exchange, and nothing else (on
// RabbitMQ, in a virtual host of the endpoint's own, with no configure
// permission). The default exchange is never used, because write
// permission on it would let an endpoint publish into any queue.
func TaskQueue(endpointID string) string      { return "funcx.ep." + endpointID + ".tasks" }
func ResultExchange(endpointID string) string { return "funcx.ep." + endpointID + ".results" }
func ResultQueue(endpointID string) string    { return "funcx.ep." + endpointID + ".results" }

// TaskExchange is the service's exchange that routes task batches to the
// endpoints' task queues (direct, routing key = endpoint ID).
const TaskExchange = "funcx.tasks"

// Credentials are what an endpoint needs to reach its queues; the service
// returns them at registration.
type Credentials struct {
	// URL is the AMQP URL with user and password (amqp:// or amqps://);
	// empty for the in-process broker.
	URL            string `json:"url"`
	Username       string `json:"username"`
	Password       string `json:"password"`
	TaskQueue      string `json:"task_queue"`
	ResultExchange string `json:"result_exchange"`
}

// Heartbeat is an endpoint's periodic status report.
type Heartbeat struct {
	EndpointID  string    `json:"endpoint_id"`
	Time        time.Time `json:"time"`
	Managers    int       `json:"managers"`
	Workers     int       `json:"workers"`
	Outstanding int       `json:"outstanding"`
	// Stopping is set in the last heartbeat of a clean stop.
	Stopping bool   `json:"stopping,omitempty"`
	Version  string `json:"version,omitempty"`
	// Detail says why the endpoint is as it is (see HeartbeatDetail);
	// its fields are at the top level of the JSON, all omitted when
	// empty, so heartbeats without them still decode.
	HeartbeatDetail
}

// Message is one message from an endpoint to the service: a batch of
// results, or a heartbeat.
type Message struct {
	Results   []funcx.Result
	Heartbeat *Heartbeat
}

// Service is the service's side of the broker.
type Service interface {
	// EnsureEndpoint declares the endpoint's queues and exchange and
	// creates (or rotates) its broker user, returning its credentials.
	EnsureEndpoint(ctx context.Context, endpointID string) (Credentials, error)
	// DeleteEndpoint removes the endpoint's queues and broker user.
	DeleteEndpoint(ctx context.Context, endpointID string) error
	// PublishTasks sends one batch to an endpoint's task queue and returns
	// once the broker has confirmed it (persistent, durable).
	PublishTasks(ctx context.Context, endpointID string, tasks []funcx.Task) error
	// Resume adds endpoints set up before, by this Service or by another
	// one on the same broker (a restarted service process, a second
	// replica), to those whose result queues ConsumeResults consumes:
	// a service passes every endpoint it has stored when it starts. An
	// endpoint the broker does not have is counted (ReasonMissing) and
	// left out until EnsureEndpoint sets it up. It returns at once;
	// consumption begins in the background.
	Resume(ctx context.Context, endpointIDs []string) error
	// ConsumeResults delivers messages from the result queues of the
	// endpoints set up with EnsureEndpoint or named to Resume, including
	// later ones, to handle until ctx ends. Each endpoint's queue is
	// consumed on its own: one whose queue is missing, locked or
	// deleted is retried with a backoff of its own and counted in
	// ConsumerStats while the others keep flowing.
	//
	// A message is acknowledged only after handle returns nil; after an
	// error it is held and handed over again, alone, after a pause that
	// grows while its errors continue, without delaying other messages.
	// Return errors for transient failures only: a message whose handler
	// failed Config.PoisonAfter times while other messages were handled
	// is dropped (ReasonPoisoned), as is one that cannot be decoded
	// (ReasonMalformed). handle is called from one goroutine at a time.
	// Result messages of one endpoint that are waiting together may come
	// as one Message, their results in order; its messages are then
	// acknowledged or held together.
	// ConsumeResults returns nil once ctx ends, ErrClosed after Close.
	ConsumeResults(ctx context.Context, handle func(ctx context.Context, endpointID string, m Message) error) error
	// ConsumerStats reports how ConsumeResults fares, for metrics.
	ConsumerStats() ConsumerStats
	Close() error
}

// Delivery is one batch of tasks delivered to an endpoint. The endpoint
// acks it once the tasks are journaled, never later: a delivery held
// unacked for the life of a long task would trip RabbitMQ's consumer
// timeout.
type Delivery struct {
	Tasks []funcx.Task
	Ack   func() error
	// Nack returns the batch to the queue.
	Nack func() error
}

// EndpointConn is the endpoint's side: one connection with its
// credentials. It does not reconnect; the endpoint's link does that by
// dialing again.
type EndpointConn interface {
	// Deliveries yields task batches; it is closed when the connection
	// ends (see Err).
	Deliveries() <-chan Delivery
	// PublishResults sends results and returns once the broker confirmed
	// them.
	PublishResults(ctx context.Context, results []funcx.Result) error
	// PublishHeartbeat sends a heartbeat (confirmed too).
	PublishHeartbeat(ctx context.Context, hb Heartbeat) error
	// Done is closed when the connection has ended; Err says why.
	Done() <-chan struct{}
	Err() error
	Close() error
}

// DeliveryStopper is implemented by an EndpointConn that can stop its
// deliveries without closing: a stopping endpoint takes no more tasks
// but keeps its connection to publish the results of the tasks it lets
// finish. Both implementations of this module provide it.
type DeliveryStopper interface {
	// StopDeliveries asks the broker for no more deliveries and returns
	// once Deliveries is closed. Deliveries already yielded stay as they
	// are (Ack and Nack still work); those the connection had received
	// but not yielded go back to the queue. Publishing goes on. It is
	// idempotent. After an error (ctx ended, the connection ended)
	// deliveries may still come; unacked ones return to the queue when
	// the connection closes.
	StopDeliveries(ctx context.Context) error
}

// ErrClosed is returned by operations on a closed connection.
var ErrClosed = errors.New("broker: connection closed")
