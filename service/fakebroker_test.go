package service_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// fakeBroker is a broker.Service in memory that records what the service
// did and lets tests deliver messages to its consumer.
type fakeBroker struct {
	mu         sync.Mutex
	ensured    map[string]int // endpoint -> EnsureEndpoint calls
	deleted    []string
	batches    map[string][][]funcx.Task // endpoint -> published batches
	publishErr error                     // returned by PublishTasks while set
	ensureErr  error
	handle     func(context.Context, string, broker.Message) error
	consuming  chan struct{} // closed once ConsumeResults runs
	discard    bool          // keep no batches (fuzzing, benchmarks)
	resumed    []string      // endpoint IDs passed to Resume
	stats      broker.ConsumerStats
}

var _ broker.Service = (*fakeBroker)(nil)

func newFakeBroker() *fakeBroker {
	return &fakeBroker{ensured: map[string]int{}, batches: map[string][][]funcx.Task{}, consuming: make(chan struct{})}
}

func (b *fakeBroker) EnsureEndpoint(_ context.Context, id string) (broker.Credentials, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ensureErr != nil {
		return broker.Credentials{}, b.ensureErr
	}
	b.ensured[id]++
	return broker.Credentials{
		URL:            "amqp://broker.test/",
		Username:       "funcx.ep." + id,
		Password:       fmt.Sprintf("secret-%d", b.ensured[id]), // rotates
		TaskQueue:      broker.TaskQueue(id),
		ResultExchange: broker.ResultExchange(id),
	}, nil
}

func (b *fakeBroker) DeleteEndpoint(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.ensured, id)
	b.deleted = append(b.deleted, id)
	return nil
}

func (b *fakeBroker) PublishTasks(_ context.Context, id string, tasks []funcx.Task) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.publishErr != nil {
		return b.publishErr
	}
	if b.ensured[id] == 0 {
		return fmt.Errorf("publish to %s: %w", id, broker.ErrUnknownEndpoint)
	}
	if !b.discard {
		b.batches[id] = append(b.batches[id], slices.Clone(tasks))
	}
	return nil
}

func (b *fakeBroker) ConsumeResults(ctx context.Context, handle func(context.Context, string, broker.Message) error) error {
	b.mu.Lock()
	b.handle = handle
	close(b.consuming)
	b.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (b *fakeBroker) Resume(_ context.Context, ids []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resumed = append(b.resumed, ids...)
	return nil
}

func (b *fakeBroker) ConsumerStats() broker.ConsumerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

func (b *fakeBroker) Close() error { return nil }

func (b *fakeBroker) setPublishErr(err error) {
	b.mu.Lock()
	b.publishErr = err
	b.mu.Unlock()
}

// published returns the batches published to an endpoint.
func (b *fakeBroker) published(id string) [][]funcx.Task {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.batches[id])
}

// deliver hands a message to the service's consumer as the broker would,
// from the queue of endpoint id.
func (b *fakeBroker) deliver(tb testing.TB, id string, m broker.Message) {
	tb.Helper()
	<-b.consuming
	b.mu.Lock()
	h := b.handle
	b.mu.Unlock()
	if err := h(context.Background(), id, m); err != nil {
		tb.Fatalf("consumer refused a message from %s: %v", id, err)
	}
}
