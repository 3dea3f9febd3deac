package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// BenchmarkOneTask is the store's part of one task sent alone, as in the
// benchmark's one-task latency: its submission (AddTasks, MarkPublished)
// and its result (StoreResults), each a transaction of one row.
func BenchmarkOneTask(b *testing.B) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(b.TempDir(), "s.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seedOneEndpoint(b, st)
	for b.Loop() {
		rec := service.TaskRecord{ID: funcx.NewTaskID(), Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: time.Now()}
		sub, err := st.AddTasks(ctx, []service.TaskRecord{rec})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.MarkPublished(ctx, sub.ID); err != nil {
			b.Fatal(err)
		}
		out, err := st.StoreResults(ctx, "e1", []funcx.Result{{TaskID: rec.ID, State: funcx.StateSuccess, Output: []byte("null")}}, time.Now())
		if err != nil || len(out.Stored) != 1 {
			b.Fatal(out, err)
		}
	}
}
