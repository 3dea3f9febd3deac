package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// Start hands the broker every stored endpoint, of every owner.
func TestStartResumesStoredEndpoints(t *testing.T) {
	t.Parallel()
	b := setup(t)
	want := []string{b.registerEndpoint(t, b.alice), b.registerEndpoint(t, b.bob), b.registerEndpoint(t, b.alice)}
	fb := newFakeBroker()
	startService(t, b.store, fb)
	fb.mu.Lock()
	got := slices.Sorted(slices.Values(fb.resumed))
	fb.mu.Unlock()
	if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("resumed %v, want %v", got, want)
	}
}

// The broker's consumer figures are on /metrics.
func TestConsumerMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.broker.mu.Lock()
	b.broker.stats = broker.ConsumerStats{Errors: map[string]uint64{broker.ReasonLocked: 7}, Endpoints: 3, Unconsumed: 1}
	b.broker.mu.Unlock()
	m := b.metrics(t)
	for _, want := range []string{
		`funcx_service_result_queue_errors_total{reason="locked"} 7`,
		`funcx_service_result_queue_errors_total{reason="poisoned"} 0`,
		"funcx_service_result_queues 3",
		"funcx_service_result_queues_unconsumed 1",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A service process that stops, and another started on the same store
// and broker, consumes the results of an endpoint registered with the
// first, with no action of the endpoint: the same connection, no new
// registration.
func TestRestartedServiceResumesEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mb, st := memFabric(t)
	first := &bundle{svc: startService(t, st, mb)}
	u := first.newUser(t, "alice")
	var reg api.RegisterEndpointResponse
	first.mustDo(t, "POST", api.PathEndpoints, u.token, api.RegisterEndpointRequest{Name: "ep"}, &reg)
	conn, err := mb.DialEndpoint(ctx, broker.Credentials(reg.Broker))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fn := first.registerFunction(t, u, api.RegisterFunctionRequest{Kind: "go", GoName: "double"})
	ids := first.submit(t, u, reg.EndpointID, fn, 2)
	if err := first.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// The next process: a Service of its own on the same broker, which
	// knows the endpoint only from the store.
	next := &bundle{svc: startService(t, st, mb.Attach())}
	var results []funcx.Result
	for len(results) < len(ids) {
		select {
		case d := <-conn.Deliveries():
			for _, task := range d.Tasks {
				results = append(results, funcx.Result{TaskID: task.ID, State: funcx.StateSuccess, Output: []byte("4")})
			}
			if err := d.Ack(); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("endpoint got %d of %d tasks", len(results), len(ids))
		}
	}
	if err := conn.PublishResults(ctx, results); err != nil {
		t.Fatal(err)
	}
	var p api.ResultsPage
	code, data := next.do(t, "GET", api.PathResults+"?wait=10s&after=0", u.token, nil)
	if code != http.StatusOK || json.Unmarshal(data, &p) != nil || len(p.Results) != len(ids) {
		t.Fatalf("results after the restart: %d %s", code, data)
	}
}
