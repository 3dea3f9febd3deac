package endpoint_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/local"
	"github.com/funcx-go/funcx/routing"
	"github.com/funcx-go/funcx/worker"
)

// countingRouter is a caller's Router: plain routing, counted.
type countingRouter struct {
	routed atomic.Int64
}

func (r *countingRouter) Route(pending []routing.Pending, managers []routing.Manager, dst []routing.Assignment) []routing.Assignment {
	before := len(dst)
	dst = routing.Plain{}.Route(pending, managers, dst)
	for _, a := range dst[before:] {
		r.routed.Add(int64(a.Count))
	}
	return dst
}

// startedProvider is a caller's provider that records its Start.
type startedProvider struct {
	provider.Provider
	started atomic.Int64
	submits atomic.Int64
}

func (p *startedProvider) Start(context.Context) error {
	p.started.Add(1)
	return nil
}

func (p *startedProvider) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	p.submits.Add(1)
	return p.Provider.Submit(ctx, j)
}

func (p *startedProvider) Shutdown(ctx context.Context) error {
	return provider.Shutdown(ctx, p.Provider)
}

// The engine routes through the caller's Router and takes blocks from the
// caller's provider, which it starts before the first block.
func TestEngineUsesCallersRouterAndProvider(t *testing.T) {
	t.Parallel()
	lp, err := local.New(local.Config{})
	if err != nil {
		t.Fatal(err)
	}
	router, prov := &countingRouter{}, &startedProvider{Provider: lp}
	e := startEngine(t, endpoint.Config{
		MaxWorkersPerNode: 2,
		Router:            router,
		Provider:          endpoint.ProviderConfig{Type: "mine", Implementation: prov},
	})
	const n = 20
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(`"x"`)}
	}
	if err := e.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	for id, r := range collect(t, e, n, time.Minute) {
		if r.State != funcx.StateSuccess {
			t.Errorf("task %s: %+v", id, r)
		}
	}
	if got := router.routed.Load(); got != n {
		t.Errorf("the caller's router routed %d tasks, want %d", got, n)
	}
	if prov.started.Load() != 1 || prov.submits.Load() < 1 {
		t.Errorf("the caller's provider: started %d times, %d blocks", prov.started.Load(), prov.submits.Load())
	}
}

// A provider type a program registers is built by name, as config.toml's
// provider.type names it; a type nobody registered is refused, naming the
// types that are.
func TestRegisteredProviderType(t *testing.T) {
	t.Parallel()
	var built atomic.Int64
	var got provider.Settings
	provider.Register("endpoint-test-mine", provider.DriverFunc(func(s provider.Settings) (provider.Provider, error) {
		built.Add(1)
		got = s
		return local.New(local.Config{Logger: s.Logger})
	}))
	e := startEngine(t, endpoint.Config{
		DisplayName: "plug",
		Provider:    endpoint.ProviderConfig{Type: "endpoint-test-mine", CommandTimeout: 7 * time.Second},
	})
	task := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(`1`)}
	if err := e.Submit(task); err != nil {
		t.Fatal(err)
	}
	if r := collect(t, e, 1, time.Minute)[task.ID]; r.State != funcx.StateSuccess {
		t.Errorf("task: %+v", r)
	}
	if built.Load() != 1 || got.Type != "endpoint-test-mine" || got.EndpointName != "plug" || got.CommandTimeout != 7*time.Second || got.Logger == nil {
		t.Errorf("driver called %d times with %+v", built.Load(), got)
	}

	_, err := endpoint.NewEngine(endpoint.Config{Provider: endpoint.ProviderConfig{Type: "nomad"}})
	if !errors.Is(err, provider.ErrNotLinked) || !strings.Contains(err.Error(), `provider.type: provider type "nomad" is unknown; use local, slurm, pbs or kubernetes`) {
		t.Errorf("an unknown type: %v", err)
	}
}
