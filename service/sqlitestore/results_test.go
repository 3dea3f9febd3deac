package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// A batch larger than one INSERT stores every result once, in order,
// with its fields; duplicates (in the batch and stored before), unknown
// tasks and non-terminal results are counted, not stored.
func TestStoreResultsBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1000, 0)
	st := openWithFunction(t, now)
	const n = 1100 // over two INSERTs
	recs := make([]service.TaskRecord, n)
	for i := range recs {
		recs[i] = service.TaskRecord{ID: funcx.NewTaskID(), Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: now.Add(time.Duration(i))}
	}
	if _, err := st.AddTasks(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// Task 0's result is stored first, alone.
	if out, err := st.StoreResults(ctx, "e1", []funcx.Result{{TaskID: recs[0].ID, State: funcx.StateSuccess, Output: []byte("0")}}, now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("first result: %+v %v", out, err)
	}
	var batch []funcx.Result
	for i := range recs {
		r := funcx.Result{TaskID: recs[i].ID, State: funcx.StateSuccess, Output: fmt.Appendf(nil, "%d", i),
			Stdout: []byte("out"), Manager: "m", Worker: i % 7, Attempt: 1, Times: funcx.Timings{Finished: now.Add(time.Duration(i))}}
		if i%100 == 50 {
			r.State = funcx.StateFailed
			r.Error = &funcx.TaskError{Kind: funcx.TaskTimeout, Message: "slow", Stack: "s"}
		}
		batch = append(batch, r)
		if i == 600 { // a second result of the same task in the batch loses
			batch = append(batch, funcx.Result{TaskID: recs[i].ID, State: funcx.StateFailed})
		}
	}
	batch = append(batch,
		funcx.Result{TaskID: funcx.NewTaskID(), State: funcx.StateSuccess}, // unknown
		funcx.Result{TaskID: recs[1].ID, State: funcx.StateRunning},        // not terminal
	)
	out, err := st.StoreResults(ctx, "e1", batch, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Stored) != n-1 || out.Duplicates != 2 || out.Unknown != 1 || out.NotTerminal != 1 {
		t.Fatalf("stored %d, duplicates %d, unknown %d, not terminal %d; want %d, 2, 1, 1",
			len(out.Stored), out.Duplicates, out.Unknown, out.NotTerminal, n-1)
	}
	for i, rec := range out.Stored {
		if rec.Result.TaskID != recs[i+1].ID || rec.Owner != "a" || !rec.Submitted.Equal(recs[i+1].Submitted) {
			t.Fatalf("stored record %d: %+v, want task %d", i, rec, i+1)
		}
		if i > 0 && rec.Seq <= out.Stored[i-1].Seq {
			t.Fatalf("seq %d after %d: results not numbered in their order", rec.Seq, out.Stored[i-1].Seq)
		}
	}
	rs, err := st.Results(ctx, "a", 0, 2*n)
	if err != nil || len(rs) != n {
		t.Fatalf("results: %d (err %v), want %d", len(rs), err, n)
	}
	for i, r := range rs {
		want := fmt.Sprintf("%d", i)
		if r.Result.TaskID != recs[i].ID || string(r.Result.Output) != want {
			t.Fatalf("result %d: task %s output %q, want task %s output %q", i, r.Result.TaskID, r.Result.Output, recs[i].ID, want)
		}
		if i > 0 && (r.Result.Worker != i%7 || r.Result.Manager != "m" || string(r.Result.Stdout) != "out" ||
			!r.Result.Times.Finished.Equal(now.Add(time.Duration(i)))) {
			t.Fatalf("result %d fields: %+v", i, r.Result)
		}
		if failed := i%100 == 50; failed != (r.Result.Error != nil) || failed && r.Result.Error.Kind != funcx.TaskTimeout {
			t.Fatalf("result %d error: %+v", i, r.Result.Error)
		}
	}
}
