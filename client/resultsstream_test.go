package client_test

import (
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
)

// TestTasksOneAtATimeShareAResultsStream: a client that waits for each
// task before it submits the next keeps one results stream open rather
// than polling once per task.
func TestTasksOneAtATimeShareAResultsStream(t *testing.T) {
	t.Parallel()
	const tasks = 10
	for _, tc := range []struct {
		name     string
		scfg     clienttest.Config
		disabled bool
		atMost   int // GET /v1/results requests, with the ResultsHead probe
		atLeast  int
	}{
		{name: "stream", atMost: 3},
		{name: "streams disabled", disabled: true, atLeast: tasks},
		{name: "service without streams", scfg: clienttest.Config{NoResultsStream: true}, atLeast: tasks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.scfg.Run = clienttest.Echo
			b := setup(t, tc.scfg, func(c *client.Config) { c.DisableResultsStream = tc.disabled })
			ex := b.c.Executor(b.endpointID)
			for i := range tasks {
				r, err := ex.Submit(b.goFunc, map[string]int{"i": i}).Result(b.ctx)
				if err != nil {
					t.Fatalf("task %d: %v", i, err)
				}
				var out map[string]int
				if err := r.Output(&out); err != nil || out["i"] != i {
					t.Fatalf("task %d: output %v, %v", i, out, err)
				}
			}
			n := b.srv.Requests("GET /v1/results")
			if n > tc.atMost && tc.atMost > 0 || n < tc.atLeast {
				t.Fatalf("%d results requests for %d tasks, want %d..%d", n, tasks, tc.atLeast, tc.atMost)
			}
			t.Logf("%d results requests for %d tasks", n, tasks)
		})
	}
}
