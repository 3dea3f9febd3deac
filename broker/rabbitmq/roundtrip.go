package rabbitmq

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// RoundTripConfig configures RunRoundTrip.
type RoundTripConfig struct {
	// URL is the AMQP URL, with a user who may declare queues. Defaults
	// to DefaultURL.
	URL string
	// Messages is how many task messages the throughput phase sends, each
	// answered by one result message. Zero skips the phase.
	Messages int
	// Batch is how many no-op tasks (and results) each message carries,
	// encoded as the fabric encodes them. Defaults to 1.
	Batch int
	// Window bounds the unconfirmed publishes and the unacked deliveries
	// (prefetch) on each side. Defaults to 256.
	Window int
	// LatencySamples is how many one-at-a-time round trips of one task
	// the latency phase times. Zero skips the phase.
	LatencySamples int
	// QueuePrefix names the two temporary queues, which are deleted at
	// the end (and expire a minute after an abandoned run). Defaults to
	// "funcx.bench".
	QueuePrefix string
}

// RoundTripStats is what RunRoundTrip measured.
type RoundTripStats struct {
	Messages int
	Batch    int
	// Elapsed is the throughput phase's time, from the first publish to
	// the last result consumed.
	Elapsed     time.Duration
	MsgsPerSec  float64
	ItemsPerSec float64

	LatencySamples int
	// P50 and P99 are the one-at-a-time round trip latencies: publish a
	// task and wait for its confirm, until its result is consumed.
	P50, P99, Max time.Duration
	// Samples are the latency phase's round trips, sorted, for callers
	// that pool them over runs.
	Samples []time.Duration
}

func (s RoundTripStats) String() string {
	return fmt.Sprintf("%d msgs x %d items in %s: %.0f msgs/s, %.0f items/s; latency over %d: p50 %s p99 %s max %s",
		s.Messages, s.Batch, s.Elapsed.Round(time.Millisecond), s.MsgsPerSec, s.ItemsPerSec,
		s.LatencySamples, s.P50, s.P99, s.Max)
}

// RawRoundTrip measures RabbitMQ alone on the fabric's path, as the
// baseline of the end-to-end benchmarks: a "service" connection publishes
// task messages with confirms; an "endpoint" connection consumes and acks
// each and publishes a result message with confirms; the service consumes
// and acks the results. Messages are persistent on durable queues, as in
// the fabric. It sends n messages of batch items for throughput (items/s),
// then times min(n, 1000) one-at-a-time round trips of one item (p50,
// p99).
func RawRoundTrip(ctx context.Context, url string, n, batch int) (RoundTripStats, error) {
	return RunRoundTrip(ctx, RoundTripConfig{URL: url, Messages: n, Batch: batch, LatencySamples: min(n, 1000)})
}

// RunRoundTrip is RawRoundTrip with every knob.
func RunRoundTrip(ctx context.Context, cfg RoundTripConfig) (RoundTripStats, error) {
	cfg.URL = cmp.Or(cfg.URL, DefaultURL)
	cfg.Batch = cmp.Or(cfg.Batch, 1)
	cfg.Window = cmp.Or(cfg.Window, 256)
	cfg.QueuePrefix = cmp.Or(cfg.QueuePrefix, "funcx.bench")
	if cfg.Messages < 0 || cfg.Batch < 1 || cfg.Window < 1 || cfg.LatencySamples < 0 {
		return RoundTripStats{}, fmt.Errorf("rabbitmq: round trip: Messages %d, Batch %d, Window %d, LatencySamples %d: want Messages, LatencySamples >= 0 and Batch, Window >= 1",
			cfg.Messages, cfg.Batch, cfg.Window, cfg.LatencySamples)
	}
	rt, err := openRoundTrip(ctx, cfg)
	if err != nil {
		return RoundTripStats{}, fmt.Errorf("rabbitmq: round trip: %w", err)
	}
	stats, err := rt.run(ctx, cfg)
	if cerr := rt.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return stats, fmt.Errorf("rabbitmq: round trip: %w", err)
	}
	return stats, nil
}

// roundTrip is the two sides of one RunRoundTrip.
type roundTrip struct {
	svc, ep          *amqp.Connection
	admin            *amqp.Channel // declares and deletes the queues
	tasksQ, resultsQ string
	svcPub, epPub    *amqp.Channel
	taskIn, resultIn <-chan amqp.Delivery
	window           int
	stopAfterFunc    func() bool
	closeOnce        sync.Once

	// The endpoint side's goroutines.
	started      bool
	reply        atomic.Pointer[[]byte] // the result body to answer with
	epConfirms   chan *amqp.DeferredConfirmation
	endpointErr  chan error
	endpointDone chan struct{}
	confirmDone  chan struct{}
}

func openRoundTrip(ctx context.Context, cfg RoundTripConfig) (rt *roundTrip, err error) {
	rt = &roundTrip{
		window:       cfg.Window,
		epConfirms:   make(chan *amqp.DeferredConfirmation, cfg.Window),
		endpointErr:  make(chan error, 2),
		endpointDone: make(chan struct{}),
		confirmDone:  make(chan struct{}),
	}
	defer func() {
		if err != nil {
			rt.close()
		}
	}()
	dc := dialConfig{url: cfg.URL, timeout: DefaultDialTimeout, heartbeat: DefaultHeartbeat}
	dc.name = "funcx-bench service"
	if rt.svc, err = dial(ctx, dc); err != nil {
		return rt, err
	}
	dc.name = "funcx-bench endpoint"
	if rt.ep, err = dial(ctx, dc); err != nil {
		return rt, err
	}
	// A cancelled ctx closes the connections, which unblocks everything.
	rt.stopAfterFunc = context.AfterFunc(ctx, func() { rt.svc.Close(); rt.ep.Close() })

	id := strings.ToLower(rand.Text()[:10])
	rt.tasksQ, rt.resultsQ = cfg.QueuePrefix+"."+id+".tasks", cfg.QueuePrefix+"."+id+".results"
	if rt.admin, err = rt.svc.Channel(); err != nil {
		return rt, err
	}
	for _, q := range []string{rt.tasksQ, rt.resultsQ} {
		if _, err := rt.admin.QueueDeclare(q, true, false, false, false, amqp.Table{"x-expires": int32(60000)}); err != nil {
			return rt, fmt.Errorf("declare %s: %w", q, err)
		}
	}
	if rt.svcPub, err = confirmChannel(rt.svc); err != nil {
		return rt, err
	}
	if rt.epPub, err = confirmChannel(rt.ep); err != nil {
		return rt, err
	}
	if rt.taskIn, err = consumeChannel(rt.ep, rt.tasksQ, cfg.Window); err != nil {
		return rt, err
	}
	if rt.resultIn, err = consumeChannel(rt.svc, rt.resultsQ, cfg.Window); err != nil {
		return rt, err
	}
	rt.started = true
	go rt.confirmEndpoint()
	go rt.endpoint()
	return rt, nil
}

func confirmChannel(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	return ch, ch.Confirm(false)
}

func consumeChannel(conn *amqp.Connection, queue string, prefetch int) (<-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return nil, err
	}
	return ch.Consume(queue, "", false, false, false, false, nil)
}

func persistent(typ string, body []byte) amqp.Publishing {
	return amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: broker.ContentTypeWire, Type: typ, Body: body}
}

// endpoint acks each task message and answers it with a result message,
// its confirms awaited by confirmEndpoint within the window.
func (rt *roundTrip) endpoint() {
	defer close(rt.endpointDone)
	defer close(rt.epConfirms)
	for d := range rt.taskIn {
		if err := d.Ack(false); err != nil {
			rt.endpointErr <- fmt.Errorf("endpoint: ack task: %w", err)
			return
		}
		dc, err := rt.epPub.PublishWithDeferredConfirm("", rt.resultsQ, false, false, persistent(broker.TypeResults, *rt.reply.Load()))
		if err != nil {
			rt.endpointErr <- fmt.Errorf("endpoint: publish result: %w", err)
			return
		}
		rt.epConfirms <- dc
	}
}

func (rt *roundTrip) confirmEndpoint() {
	defer close(rt.confirmDone)
	for dc := range rt.epConfirms {
		if !dc.Wait() {
			rt.endpointErr <- errors.New("endpoint: result not confirmed")
			for range rt.epConfirms {
			}
			return
		}
	}
}

func (rt *roundTrip) run(ctx context.Context, cfg RoundTripConfig) (RoundTripStats, error) {
	stats := RoundTripStats{Messages: cfg.Messages, Batch: cfg.Batch, LatencySamples: cfg.LatencySamples}
	if cfg.Messages > 0 {
		task, result := noopBatch(cfg.Batch)
		rt.reply.Store(&result)
		elapsed, err := rt.throughput(ctx, cfg.Messages, task)
		if err != nil {
			return stats, err
		}
		stats.Elapsed = elapsed
		stats.MsgsPerSec = float64(cfg.Messages) / elapsed.Seconds()
		stats.ItemsPerSec = stats.MsgsPerSec * float64(cfg.Batch)
	}
	if cfg.LatencySamples > 0 {
		task, result := noopBatch(1)
		rt.reply.Store(&result)
		lat, err := rt.latency(ctx, cfg.LatencySamples, task)
		if err != nil {
			return stats, err
		}
		slices.Sort(lat)
		stats.P50 = lat[len(lat)/2]
		stats.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
		stats.Max = lat[len(lat)-1]
		stats.Samples = lat
	}
	return stats, nil
}

// noopBatch returns the bodies of a batch of n no-op tasks and of their
// results.
func noopBatch(n int) (tasks, results []byte) {
	ts := make([]funcx.Task, n)
	rs := make([]funcx.Result, n)
	for i := range ts {
		ts[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("noop"), Args: []byte("null")}
		rs[i] = funcx.Result{TaskID: ts[i].ID, State: funcx.StateSuccess, Output: []byte("null"), Worker: -1}
	}
	return broker.EncodeTasks(ts), broker.EncodeResults(rs)
}

// throughput publishes n task messages, pipelined within the window, and
// returns when all n results are consumed.
func (rt *roundTrip) throughput(ctx context.Context, n int, task []byte) (time.Duration, error) {
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() { pubErr <- rt.publishTasks(n, task) }()
	published := false
	for got := 0; got < n; {
		select {
		case err := <-pubErr:
			if err != nil {
				return 0, err
			}
			published = true
		case err := <-rt.endpointErr:
			return 0, err
		case d, ok := <-rt.resultIn:
			if err := ack(ctx, d, ok); err != nil {
				return 0, err
			}
			got++
		}
	}
	elapsed := time.Since(start)
	if !published {
		if err := <-pubErr; err != nil {
			return 0, err
		}
	}
	return elapsed, nil
}

// ack acks a result delivery; ok false means the consumer ended.
func ack(ctx context.Context, d amqp.Delivery, ok bool) error {
	if !ok {
		return fmt.Errorf("results consumer ended: %w", cmp.Or(ctx.Err(), errors.New("connection closed")))
	}
	return d.Ack(false)
}

// publishTasks publishes n task messages with at most window unconfirmed.
func (rt *roundTrip) publishTasks(n int, task []byte) error {
	pending := make([]*amqp.DeferredConfirmation, 0, rt.window)
	for i := 0; i < n; i++ {
		if len(pending) == rt.window {
			if !pending[0].Wait() {
				return errors.New("task not confirmed")
			}
			pending = pending[1:]
		}
		dc, err := rt.svcPub.PublishWithDeferredConfirm("", rt.tasksQ, false, false, persistent(broker.TypeTasks, task))
		if err != nil {
			return fmt.Errorf("publish task: %w", err)
		}
		pending = append(pending, dc)
	}
	for _, dc := range pending {
		if !dc.Wait() {
			return errors.New("task not confirmed")
		}
	}
	return nil
}

// awaitResult consumes and acks one result message.
func (rt *roundTrip) awaitResult(ctx context.Context) error {
	select {
	case d, ok := <-rt.resultIn:
		return ack(ctx, d, ok)
	case err := <-rt.endpointErr:
		return err
	}
}

// latency times n one-at-a-time round trips.
func (rt *roundTrip) latency(ctx context.Context, n int, task []byte) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		dc, err := rt.svcPub.PublishWithDeferredConfirm("", rt.tasksQ, false, false, persistent(broker.TypeTasks, task))
		if err != nil {
			return nil, fmt.Errorf("publish task: %w", err)
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			return nil, fmt.Errorf("task not confirmed: %v", err)
		}
		if err := rt.awaitResult(ctx); err != nil {
			return nil, err
		}
		lat[i] = time.Since(start)
	}
	return lat, nil
}

// close deletes the queues and closes both connections; every goroutine
// has ended when it returns.
func (rt *roundTrip) close() error {
	var err error
	rt.closeOnce.Do(func() {
		if rt.admin != nil {
			for _, q := range []string{rt.tasksQ, rt.resultsQ} {
				if _, derr := rt.admin.QueueDelete(q, false, false, false); derr != nil && err == nil {
					err = fmt.Errorf("delete %s: %w", q, derr)
				}
			}
		}
		if rt.stopAfterFunc != nil {
			rt.stopAfterFunc()
		}
		for _, c := range []*amqp.Connection{rt.ep, rt.svc} {
			if c != nil {
				c.Close()
			}
		}
		if rt.started {
			<-rt.endpointDone
			<-rt.confirmDone
		}
	})
	return err
}
