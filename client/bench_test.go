package client_test

import (
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// BenchmarkExecutor10k submits 10,000 tasks through one Executor to the
// fake service, whose results arrive as soon as tasks are stored, and
// waits for every future. It reports tasks/s and the HTTP requests one
// round of 10,000 took.
func BenchmarkExecutor10k(b *testing.B) {
	const n = 10_000
	srv := clienttest.NewServer(b, clienttest.Config{Run: clienttest.Echo})
	ep := srv.AddEndpoint(api.EndpointStatus{Name: "bench"})
	c, err := client.New(client.Config{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	fid, err := c.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "noop", Kind: "go", GoName: "noop"})
	if err != nil {
		b.Fatal(err)
	}
	ex := c.Executor(ep)
	defer ex.Close()
	futures := make([]*client.Future, n)
	routes := []string{"POST /v1/tasks", "GET /v1/results", "POST /v1/token"}
	count := func() int {
		total := 0
		for _, r := range routes {
			total += srv.Requests(r)
		}
		return total
	}
	before := count()
	start := time.Now()
	for b.Loop() {
		for i := range futures {
			futures[i] = ex.Submit(fid, i)
		}
		for _, f := range futures {
			if _, err := f.Result(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "tasks/s")
	b.ReportMetric(float64(count()-before)/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.Requests("POST /v1/tasks"))/float64(b.N), "submits/op")
}
