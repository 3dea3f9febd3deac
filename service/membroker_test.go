package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// TestWithMemBroker runs the whole round trip over the in-process broker:
// register, submit, an endpoint connection takes the tasks and reports
// results and a heartbeat, and a long poll returns the results.
func TestWithMemBroker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mb, st := memFabric(t)
	b := &bundle{svc: startService(t, st, mb)}
	u := b.newUser(t, "alice")

	var reg api.RegisterEndpointResponse
	b.mustDo(t, "POST", api.PathEndpoints, u.token, api.RegisterEndpointRequest{Name: "ep"}, &reg)
	conn, err := mb.DialEndpoint(ctx, broker.Credentials(reg.Broker))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fn := b.registerFunction(t, u, api.RegisterFunctionRequest{Kind: "go", GoName: "double"})
	ids := b.submit(t, u, reg.EndpointID, fn, 3)

	var got []funcx.Task
	for len(got) < len(ids) {
		select {
		case d := <-conn.Deliveries():
			got = append(got, d.Tasks...)
			if err := d.Ack(); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("endpoint got %d of %d tasks", len(got), len(ids))
		}
	}
	results := make([]funcx.Result, len(got))
	for i, task := range got {
		if task.Function.Name != "double" {
			t.Fatalf("task %+v", task)
		}
		results[i] = funcx.Result{TaskID: task.ID, State: funcx.StateSuccess, Output: []byte("4")}
	}
	if err := conn.PublishResults(ctx, results); err != nil {
		t.Fatal(err)
	}
	if err := conn.PublishHeartbeat(ctx, broker.Heartbeat{Workers: 4}); err != nil {
		t.Fatal(err)
	}

	var page api.ResultsPage
	for len(page.Results) < len(ids) {
		var p api.ResultsPage
		code, data := b.do(t, "GET", api.PathResults+"?wait=10s&after="+itoa(page.Next), u.token, nil)
		if code != http.StatusOK || json.Unmarshal(data, &p) != nil || len(p.Results) == 0 {
			t.Fatalf("results: %d %s", code, data)
		}
		page.Results, page.Next = append(page.Results, p.Results...), p.Next
	}
	for _, r := range page.Results {
		if r.State != "success" || string(r.Output) != "4" {
			t.Fatalf("result %+v", r)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var es api.EndpointStatus
		b.mustDo(t, "GET", api.PathEndpoint+reg.EndpointID, u.token, nil, &es)
		if es.Status == "online" && es.Workers == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint status %+v", es)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memFabric returns an in-process broker and a store, closed when the
// test ends.
func memFabric(t *testing.T) (*membroker.Broker, *sqlitestore.Store) {
	t.Helper()
	mb, err := membroker.New(membroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return mb, st
}

// startService starts a service on st and brk, stopped when the test
// ends.
func startService(t *testing.T, st service.Store, brk broker.Service) *service.Service {
	t.Helper()
	svc, err := service.New(service.Config{Store: st, Broker: brk})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop(context.Background()) })
	return svc
}
