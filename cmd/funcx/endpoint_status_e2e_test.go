package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/endpointtest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
	"github.com/funcx-go/funcx/service/api"
)

// refusingScheduler accepts the first block and refuses every later one,
// with a message in the words of sbatch: a scheduler that takes the
// endpoint's first job and then hits the account's limit. Its first job
// stays pending (a manual fake), so no manager ever connects.
type refusingScheduler struct {
	*providertest.Fake
	mu     sync.Mutex
	submit int
}

const refusal = "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"

func (s *refusingScheduler) Submit(ctx context.Context, job provider.Job) (provider.JobID, error) {
	s.mu.Lock()
	s.submit++
	n := s.submit
	s.mu.Unlock()
	if n > 1 {
		return "", errors.New(refusal)
	}
	return s.Fake.Submit(ctx, job)
}

// A block that fails to start shows its scheduler's error in the user's
// status commands: endpoint.Run heartbeats it through the in-process
// broker, the service (HTTP, SQLite) stores it, and both the SDK's
// EndpointStatus and `funcx endpoint status` show it.
func TestEndpointStatusShowsSchedulerError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sched := &refusingScheduler{Fake: providertest.NewFake(providertest.FakeConfig{Manual: true})}
	f := endpointtest.Start(t, "cluster", endpoint.Config{
		MaxWorkersPerNode: 1,
		Provider:          endpoint.ProviderConfig{Type: "slurm", Implementation: sched, InitBlocks: 1, MaxBlocks: 4},
		Logger:            testlog.New(t, slog.LevelWarn),
	})
	cl := f.Client

	// More tasks than the pending block's one worker: the scaler asks for
	// another block, which the scheduler refuses.
	fn, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "noop", Kind: "go", GoName: "noop"})
	if err != nil {
		t.Fatal(err)
	}
	tasks := make([]api.TaskSubmit, 5)
	for i := range tasks {
		tasks[i] = api.TaskSubmit{FunctionID: fn}
	}
	if _, err := cl.Submit(ctx, f.EndpointID, tasks); err != nil {
		t.Fatal(err)
	}

	var ep *api.EndpointStatus
	for ep == nil || ep.BlockError == nil {
		select {
		case <-ctx.Done():
			t.Fatalf("no scheduler error in the endpoint's status; last %+v", ep)
		case <-time.After(100 * time.Millisecond):
		}
		if ep, err = cl.EndpointStatus(ctx, f.EndpointID); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(ep.BlockError.Message, refusal) || ep.BlockError.Time.IsZero() {
		t.Fatalf("block error %+v, want the scheduler's refusal", ep.BlockError)
	}
	if ep.Blocks["pending"] != 1 || ep.Blocks["failed"] < 1 {
		t.Fatalf("blocks %v, want the first pending and a failed one", ep.Blocks)
	}
	if p := ep.BlockProblems; len(p) == 0 || p[len(p)-1].State != "failed" || !strings.Contains(p[len(p)-1].Message, refusal) {
		t.Fatalf("block problems %+v", p)
	}
	if ep.Routing != nil {
		t.Fatalf("routing %+v without containers", ep.Routing)
	}

	w := &world{home: t.TempDir()}
	w.env = map[string]string{client.EnvHome: w.home, client.EnvServiceURL: f.URL, client.EnvClientID: f.ClientID, client.EnvClientSecret: f.ClientSecret}
	r := w.run(t, "endpoint", "status", f.EndpointID)
	if r.code != 0 || !strings.Contains(r.stdout, "Last scheduler error:") || !strings.Contains(r.stdout, refusal) || !strings.Contains(r.stdout, "1 pending") {
		t.Fatalf("funcx endpoint status: %+v", r)
	}
	r = w.run(t, "endpoint", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "block-error") {
		t.Fatalf("funcx endpoint list: %+v", r)
	}
}
