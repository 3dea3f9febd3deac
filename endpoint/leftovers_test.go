package endpoint_test

import (
	"context"
	"testing"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
)

// A dead run's batch blocks are cancelled through the provider, by job ID
// (here a fake scheduler holding two jobs, one of them the dead run's).
func TestCancelLeftoverBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := providertest.NewFake(providertest.FakeConfig{Manual: true})
	old, err := fake.Submit(ctx, provider.Job{BlockID: "0", Command: "manager", Nodes: 1, TasksPerNode: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A job of another run, which must survive.
	if _, err := fake.Submit(ctx, provider.Job{BlockID: "0", Command: "manager", Nodes: 1, TasksPerNode: 1}); err != nil {
		t.Fatal(err)
	}
	cfg := endpoint.Config{Provider: endpoint.ProviderConfig{Type: "slurm", Implementation: fake}}
	if err := endpoint.CancelLeftoverBlocks(ctx, cfg, []provider.JobID{old}); err != nil {
		t.Fatal(err)
	}
	for _, j := range fake.Jobs() {
		if want := j.ID == old; j.Cancelled != want {
			t.Errorf("job %s cancelled: %v, want %v", j.ID, j.Cancelled, want)
		}
	}
	// Local blocks are processes, stopped by run ID: nothing to cancel.
	local := providertest.NewFake(providertest.FakeConfig{Manual: true})
	cfg = endpoint.Config{Provider: endpoint.ProviderConfig{Type: "local", Implementation: local}}
	if err := endpoint.CancelLeftoverBlocks(ctx, cfg, []provider.JobID{"local-1-1"}); err != nil || local.Calls().Cancel != 0 {
		t.Fatalf("local: %v, %+v", err, local.Calls())
	}
}
