package brokerutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/funcx-go/funcx/broker"
)

// Delivery is one message from an endpoint's result queue.
type Delivery struct {
	EndpointID string
	Type       string
	Body       []byte
	// Ack acknowledges the message: it leaves the queue.
	Ack func() error
	// Gone is closed when the consumer that delivered it has ended: the
	// broker returns the message to the queue, and the next consumer
	// delivers it again.
	Gone <-chan struct{}
}

// ConsumeFunc consumes one endpoint's result queue, sending its messages
// to out, until ctx ends (it then returns ctx's error) or the queue
// fails. It calls consuming once the queue is consumed, and returns why
// it ended: a *QueueError when it can tell.
type ConsumeFunc func(ctx context.Context, endpointID string, consuming func(), out chan<- Delivery) error

// QueueError says why the consumer of an endpoint's queue ended.
type QueueError struct {
	// Reason is one of broker.Reasons.
	Reason string
	// Forget is set when the endpoint does not exist on the broker:
	// nothing is left to consume until EnsureEndpoint sets it up again.
	Forget bool
	Err    error
}

func (e *QueueError) Error() string { return e.Err.Error() }
func (e *QueueError) Unwrap() error { return e.Err }

// Consumer is ConsumeResults as both implementations run it: one
// goroutine per endpoint of the registry consumes its queue (through
// Consume) and retries it with a backoff of its own when it fails; one
// dispatcher hands what they deliver to Handle.
type Consumer struct {
	Registry *Registry
	Stats    *Stats
	Consume  ConsumeFunc
	Handle   func(ctx context.Context, endpointID string, m broker.Message) error
	Logger   *slog.Logger
	// RetryDelay and MaxRetryDelay space out the attempts of a message
	// whose handler failed; ReconnectDelay and MaxReconnectDelay the
	// attempts to consume a failing queue.
	RetryDelay, MaxRetryDelay         time.Duration
	ReconnectDelay, MaxReconnectDelay time.Duration
	// PoisonAfter is how many failed attempts drop a message once other
	// messages were handled since its first failure.
	PoisonAfter int
	// Closed is closed when the Service is closed.
	Closed <-chan struct{}
}

// Run consumes until ctx ends (it returns nil) or Closed is closed
// (broker.ErrClosed).
func (c *Consumer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // last: the endpoint consumers end with ctx
	defer cancel()
	in := make(chan Delivery, maxResultBatch)
	wg.Go(func() { c.supervise(ctx, in, &wg) })
	d := dispatcher{
		handle:      c.Handle,
		log:         c.Logger,
		stats:       c.Stats,
		retry:       Backoff{Min: c.RetryDelay, Max: c.MaxRetryDelay},
		poisonAfter: c.PoisonAfter,
		held:        make(map[string]*hold),
	}
	return d.run(ctx, in, c.Closed)
}

// supervise runs one consumer per endpoint of the registry until ctx
// ends.
func (c *Consumer) supervise(ctx context.Context, out chan<- Delivery, wg *sync.WaitGroup) {
	running := make(map[string]context.CancelFunc)
	ended := make(chan string)
	for {
		ids, changed := c.Registry.Snapshot()
		for id, stop := range running {
			if !ids[id] {
				stop()
			}
		}
		for id := range ids {
			if running[id] != nil {
				continue
			}
			ectx, stop := context.WithCancel(ctx)
			running[id] = stop
			wg.Go(func() {
				c.consumeEndpoint(ectx, id, out)
				select {
				case ended <- id:
				case <-ctx.Done():
				}
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case id := <-ended:
			running[id]()
			delete(running, id)
		}
	}
}

// consumeEndpoint consumes one endpoint's queue until ctx ends or the
// endpoint is forgotten, trying again after each failure.
func (c *Consumer) consumeEndpoint(ctx context.Context, id string, out chan<- Delivery) {
	retry := Backoff{Min: c.ReconnectDelay, Max: c.MaxReconnectDelay}
	lastReason := ""
	for {
		wake := c.Registry.Wake(id)
		if wake == nil {
			return // removed
		}
		consumed := false
		err := c.Consume(ctx, id, func() {
			consumed = true
			c.Stats.consuming.Add(1)
			retry.Reset()
			if lastReason != "" {
				c.Logger.Info("consuming the endpoint's result queue again", "endpoint", id)
				lastReason = ""
			}
		}, out)
		if consumed {
			c.Stats.consuming.Add(-1)
		}
		if ctx.Err() != nil {
			return
		}
		reason, forget := broker.ReasonConnection, false
		if qe := (*QueueError)(nil); errors.As(err, &qe) {
			reason, forget = qe.Reason, qe.Forget
		}
		c.Stats.Count(reason)
		if forget && c.Registry.RemoveIf(id, wake) {
			c.Logger.Warn("endpoint not on the broker; its results are not consumed until it registers again",
				"endpoint", id, "reason", reason, "err", err)
			return
		}
		d := retry.Next()
		// A queue that keeps failing for the same reason is logged once
		// per streak, not at every retry.
		level := slog.LevelDebug
		if reason != lastReason {
			level = slog.LevelWarn
		}
		lastReason = reason
		c.Logger.Log(ctx, level, "cannot consume the endpoint's result queue; retrying",
			"endpoint", id, "reason", reason, "retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// QueueErr returns a QueueError of reason with a formatted error.
func QueueErr(reason string, forget bool, format string, args ...any) error {
	return &QueueError{Reason: reason, Forget: forget, Err: fmt.Errorf(format, args...)}
}

// Logger returns l, or a logger that discards everything if l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
