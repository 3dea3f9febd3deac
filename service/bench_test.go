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
	"github.com/funcx-go/funcx/service/api"
)

const benchTasks = 10_000

// BenchmarkSubmit submits 10,000 tasks per iteration over real HTTP, in
// batches, with the fake broker confirming at once: the service's own
// cost per task (decode, store in one transaction, publish, mark).
func BenchmarkSubmit(b *testing.B) {
	for _, batch := range []int{1000, 10_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := setup(b)
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
// iteration, delivered in batches as an endpoint sends them.
func BenchmarkStoreResults(b *testing.B) {
	for _, batch := range []int{4, 16, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := setup(b)
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
