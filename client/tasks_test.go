package client_test

import (
	"testing"

	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

func TestSubmitSplitsAtServiceLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)
	tasks := make([]api.TaskSubmit, api.MaxTasksPerSubmit+1)
	for i := range tasks {
		tasks[i].FunctionID = b.goFunc
	}
	ids, err := b.c.Submit(b.ctx, b.endpointID, tasks)
	if err != nil || len(ids) != len(tasks) {
		t.Fatalf("Submit = %d IDs, %v", len(ids), err)
	}
	if posts := b.srv.Requests("POST /v1/tasks"); posts != 2 {
		t.Fatalf("%d POSTs, want 2", posts)
	}
	sts, err := b.c.TaskStatus(b.ctx, ids...)
	if err != nil || len(sts) != len(ids) {
		t.Fatalf("TaskStatus = %d, %v", len(sts), err)
	}
	if n := b.srv.Requests("POST /v1/tasks:status"); n != 2 {
		t.Fatalf("%d status requests, want 2", n)
	}
}
