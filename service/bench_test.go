package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/pgstore"
	"github.com/funcx-go/funcx/service/pgstore/pgstoretest"
)

const benchTasks = 10_000

// benchStores name the stores the benchmarks run the service on: its
// SQLite file, and PostgreSQL (the test database, in a schema of the
// benchmark's own; see pgstoretest).
var benchStores = []string{"sqlite", "postgres"}

// onStore is the setup option that puts the service on the named store.
func onStore(b *testing.B, name string) func(*service.Config) {
	if name == "sqlite" {
		return func(*service.Config) {} // setup's own
	}
	st := pgstoretest.Open(b, pgstoretest.Schema(b), pgstore.Config{MaxConns: 8})
	return func(c *service.Config) { c.Store = st }
}

// BenchmarkSubmit submits 10,000 tasks per iteration over real HTTP, in
// batches, with the fake broker confirming at once: the service's own
// cost per task (decode, store in one transaction, publish, mark), on
// each store.
func BenchmarkSubmit(b *testing.B) {
	for _, store := range benchStores {
		b.Run("store="+store, func(b *testing.B) { benchmarkSubmit(b, store) })
	}
}

func benchmarkSubmit(b *testing.B, store string) {
	for _, batch := range []int{1000, 10_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := setup(b, onStore(b, store))
			s.broker.discard = true
			ep := s.registerEndpoint(b, s.alice)
			fn := s.registerFunction(b, s.alice, echo)
			req := api.SubmitRequest{EndpointID: ep, Tasks: make([]api.TaskSubmit, batch)}
			for i := range req.Tasks {
				req.Tasks[i] = api.TaskSubmit{FunctionID: fn, Args: json.RawMessage(`{"msg":"hello"}`)}
			}
			body, _ := json.Marshal(req)
			srv := httptest.NewServer(s.svc.Handler())
			defer srv.Close()

			start := time.Now()
			for b.Loop() {
				for range benchTasks / batch {
					hreq, _ := http.NewRequest("POST", srv.URL+api.PathTasks, bytes.NewReader(body))
					hreq.Header.Set("Authorization", "Bearer "+s.alice.token)
					resp, err := srv.Client().Do(hreq)
					if err != nil {
						b.Fatal(err)
					}
					var out api.SubmitResponse
					err = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK || len(out.TaskIDs) != batch {
						b.Fatalf("submit: %d %v", resp.StatusCode, err)
					}
				}
			}
			b.ReportMetric(float64(benchTasks*b.N)/time.Since(start).Seconds(), "tasks/s")
		})
	}
}

// BenchmarkStoreResults has the consumer store 10,000 results per
// iteration, delivered in batches as an endpoint sends them, on each
// store.
func BenchmarkStoreResults(b *testing.B) {
	for _, store := range benchStores {
		b.Run("store="+store, func(b *testing.B) { benchmarkStoreResults(b, store) })
	}
}

func benchmarkStoreResults(b *testing.B, store string) {
	for _, batch := range []int{4, 16, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := setup(b, onStore(b, store))
			s.broker.discard = true
			ep := s.registerEndpoint(b, s.alice)
			fn := s.registerFunction(b, s.alice, echo)
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var ids []string
				for range benchTasks / 1000 {
					ids = append(ids, s.submit(b, s.alice, ep, fn, 1000)...)
				}
				results := make([]funcx.Result, len(ids))
				for j, id := range ids {
					results[j] = funcx.Result{TaskID: mustParse(b, id), State: funcx.StateSuccess, Stdout: []byte("hello\n"), Manager: "m", Worker: j % 64}
				}
				b.StartTimer()
				start := time.Now()
				for j := 0; j < len(results); j += batch {
					s.broker.deliver(b, ep, broker.Message{Results: results[j:min(j+batch, len(results))]})
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(benchTasks*b.N)/elapsed.Seconds(), "results/s")
		})
	}
}
