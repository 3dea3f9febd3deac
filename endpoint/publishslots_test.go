package endpoint_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// While the broker has not confirmed the result publishes in flight (as
// RabbitMQ does not, for tens of milliseconds, under load), an endpoint
// starts no more than endpoint's four: the results that come meanwhile
// wait and travel together in the next message. Before, each of the
// engine's small result batches was published at once, however many
// publishes were waiting, which multiplied the broker's messages,
// confirms and the service's store commits per result.
func TestResultsWaitingForAPublishSlotTravelTogether(t *testing.T) {
	t.Parallel()
	t.Run("in-process broker", func(t *testing.T) {
		t.Parallel()
		resultsWaitForAPublishSlot(t, startFabric(t, inProcessBroker))
	})
	t.Run("RabbitMQ", func(t *testing.T) {
		t.Parallel()
		resultsWaitForAPublishSlot(t, startFabric(t, rabbitBroker))
	})
}

func resultsWaitForAPublishSlot(t *testing.T, f *fabric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fn, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "go", GoName: worker.NameEcho})
	if err != nil {
		t.Fatal(err)
	}
	gate := newPublishGate()
	stop := f.runEndpointWith(t, filepath.Join(t.TempDir(), "journal.db"), func(rc *endpoint.RunConfig) {
		dial := rc.Dial
		rc.Dial = func(ctx context.Context) (broker.EndpointConn, error) {
			conn, err := dial(ctx)
			if err != nil {
				return nil, err
			}
			return &gatedConn{EndpointConn: conn, gate: gate}, nil
		}
	})
	defer stop()

	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	const n = 400
	futures, err := ex.Map(ctx, fn, make([]any, n))
	if err != nil {
		t.Fatal(err)
	}
	// Hold the first publishes unconfirmed until every other result has
	// had time to come (the test's outcome does not depend on how long).
	gate.waitHeld(ctx, t, 1)
	time.Sleep(time.Second)
	gate.open()
	for i, fu := range futures {
		if _, err := fu.Result(ctx); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	calls, most, results := gate.stats()
	if most > 4 {
		t.Errorf("%d result publishes were in flight at once, want at most 4", most)
	}
	if results < n {
		t.Errorf("%d results published, want at least %d", results, n)
	}
	t.Logf("%d results in %d publishes, at most %d in flight", results, calls, most)
}

// publishGate holds result publishes until it is opened, and counts them.
type publishGate struct {
	mu       sync.Mutex
	opened   chan struct{}
	inFlight int
	most     int
	calls    int
	results  int
	held     chan struct{} // signalled at every publish
}

func newPublishGate() *publishGate {
	return &publishGate{opened: make(chan struct{}), held: make(chan struct{}, 1024)}
}

func (g *publishGate) open() { close(g.opened) }

// waitHeld waits until k publishes have started.
func (g *publishGate) waitHeld(ctx context.Context, t *testing.T, k int) {
	t.Helper()
	for range k {
		select {
		case <-g.held:
		case <-ctx.Done():
			t.Fatal("no result was published")
		}
	}
}

func (g *publishGate) stats() (calls, most, results int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls, g.most, g.results
}

type gatedConn struct {
	broker.EndpointConn
	gate *publishGate
}

func (c *gatedConn) PublishResults(ctx context.Context, results []funcx.Result) error {
	g := c.gate
	g.mu.Lock()
	g.calls++
	g.results += len(results)
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	select {
	case g.held <- struct{}{}:
	default:
	}
	select {
	case <-g.opened:
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.EndpointConn.PublishResults(ctx, results)
}
