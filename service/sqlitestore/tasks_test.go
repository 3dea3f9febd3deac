package sqlitestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// A submission larger than one INSERT stores every new task; tasks stored
// before are readded (moved into the submission if never published), and
// an ID given twice in one call is stored once, the second counted as
// existing.
func TestAddTasksBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1000, 0)
	st := openWithFunction(t, now)
	task := func() service.TaskRecord {
		return service.TaskRecord{ID: funcx.NewTaskID(), Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: now}
	}
	unpublished, published := task(), task()
	if _, err := st.AddTasks(ctx, []service.TaskRecord{unpublished}); err != nil {
		t.Fatal(err)
	}
	sub, err := st.AddTasks(ctx, []service.TaskRecord{published})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPublished(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}

	const n = 1100 // over two INSERTs, the last of them partial
	recs := make([]service.TaskRecord, n)
	for i := range recs {
		recs[i] = task()
	}
	recs[10], recs[600] = unpublished, published
	recs[1000] = recs[20] // the same ID twice
	sub, err = st.AddTasks(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID == 0 || len(sub.Tasks) != n {
		t.Fatalf("submission %d with %d tasks, want one with %d", sub.ID, len(sub.Tasks), n)
	}
	for i, a := range sub.Tasks {
		want := service.AddedTask{Publish: true, State: funcx.StateWaitingForEndpoint}
		switch i {
		case 10, 1000:
			want.Existing = true
		case 600:
			want = service.AddedTask{Existing: true, State: funcx.StateWaitingForEndpoint}
		}
		if a != want {
			t.Errorf("task %d: %+v, want %+v", i, a, want)
		}
	}
	var ids []funcx.TaskID
	for i := range recs {
		if i != 1000 { // recs[20]'s ID again
			ids = append(ids, recs[i].ID)
		}
	}
	stored, err := st.Tasks(ctx, "a", ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(ids) {
		t.Errorf("%d of the %d tasks stored", len(stored), len(ids))
	}
}
