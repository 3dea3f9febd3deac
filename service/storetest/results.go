package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// The first terminal result of a task wins, in one batch and across
// batches; results from another endpoint are foreign, and an owner sees
// only its own results.
func testFirstTerminalResultWins(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	b.register(t, "e2", "b")
	ids := addTasks(t, st, "a", "e1", 2)
	out, err := st.StoreResults(ctx(t), "e1", []funcx.Result{
		{TaskID: ids[0], State: funcx.StateSuccess, Output: []byte("1")},
		{TaskID: ids[0], State: funcx.StateFailed},
	}, now)
	if err != nil || len(out.Stored) != 1 || out.Duplicates != 1 || out.Stored[0].Owner != "a" || out.Stored[0].EndpointID != "e1" {
		t.Fatalf("store: %+v %v", out, err)
	}
	out, err = st.StoreResults(ctx(t), "e1", []funcx.Result{{TaskID: ids[0], State: funcx.StateFailed}}, now)
	if err != nil || len(out.Stored) != 0 || out.Duplicates != 1 {
		t.Fatalf("a later result: %+v %v", out, err)
	}
	out, err = st.StoreResults(ctx(t), "e2", []funcx.Result{{TaskID: ids[1], State: funcx.StateSuccess}}, now)
	if err != nil || len(out.Stored) != 0 || out.Foreign != 1 {
		t.Fatalf("another endpoint's result: %+v %v", out, err)
	}
	rs, err := st.Results(ctx(t), "a", 0, 10)
	if err != nil || len(rs) != 1 || string(rs[0].Result.Output) != "1" || rs[0].Result.State != funcx.StateSuccess {
		t.Fatalf("results: %+v %v", rs, err)
	}
	if rs, err := st.Results(ctx(t), "b", 0, 10); err != nil || len(rs) != 0 {
		t.Fatalf("b sees a's results: %+v %v", rs, err)
	}
}

// A batch larger than any one statement stores every result once,
// numbered in its order, with every field; duplicates (in the batch and
// stored before), unknown tasks and non-terminal results are counted,
// not stored.
func testStoreResultsBatch(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	const n = 1100
	recs := make([]service.TaskRecord, n)
	for i := range recs {
		recs[i] = task("a", "e1")
		recs[i].Submitted = now.Add(time.Duration(i))
	}
	if _, err := st.AddTasks(ctx(t), recs); err != nil {
		t.Fatal(err)
	}
	// Task 0's result is stored first, alone.
	if out, err := st.StoreResults(ctx(t), "e1", []funcx.Result{{TaskID: recs[0].ID, State: funcx.StateSuccess, Output: []byte("0")}}, now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("first result: %+v %v", out, err)
	}
	times := func(i int) funcx.Timings {
		at := now.Add(time.Duration(i))
		return funcx.Timings{Received: at.Add(1), Dispatched: at.Add(2), Started: at.Add(3), Finished: at.Add(4)}
	}
	var batch []funcx.Result
	for i := range recs {
		r := funcx.Result{TaskID: recs[i].ID, State: funcx.StateSuccess, Output: fmt.Appendf(nil, "%d", i),
			Stdout: []byte("out"), Stderr: []byte("err\x00\xff"), Truncated: i%3 == 0, ExitCode: i % 5,
			Manager: "m", Worker: i % 7, Attempt: i % 2, Times: times(i)}
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
	stored := now.Add(time.Hour)
	out, err := st.StoreResults(ctx(t), "e1", batch, stored)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Stored) != n-1 || out.Duplicates != 2 || out.Unknown != 1 || out.NotTerminal != 1 || out.Foreign != 0 || out.Stale != 0 {
		t.Fatalf("stored %d, duplicates %d, unknown %d, not terminal %d; want %d, 2, 1, 1 (%+v)",
			len(out.Stored), out.Duplicates, out.Unknown, out.NotTerminal, n-1, out)
	}
	for i, rec := range out.Stored {
		if rec.Result.TaskID != recs[i+1].ID || rec.Owner != "a" || rec.EndpointID != "e1" || !rec.Submitted.Equal(recs[i+1].Submitted) || !rec.Stored.Equal(stored) {
			t.Fatalf("stored record %d: %+v, want task %d", i, rec, i+1)
		}
		if i > 0 && rec.Seq <= out.Stored[i-1].Seq {
			t.Fatalf("seq %d after %d: results not numbered in their order", rec.Seq, out.Stored[i-1].Seq)
		}
	}
	rs := allResults(t, st, "a", 0)
	if len(rs) != n {
		t.Fatalf("results: %d, want %d", len(rs), n)
	}
	for i, r := range rs {
		want := fmt.Sprintf("%d", i)
		if r.Result.TaskID != recs[i].ID || string(r.Result.Output) != want {
			t.Fatalf("result %d: task %s output %q, want task %s output %q", i, r.Result.TaskID, r.Result.Output, recs[i].ID, want)
		}
		if i == 0 {
			continue
		}
		if r.Seq != out.Stored[i-1].Seq {
			t.Fatalf("result %d has seq %d, StoreResults said %d", i, r.Seq, out.Stored[i-1].Seq)
		}
		res := r.Result
		if res.Worker != i%7 || res.Manager != "m" || string(res.Stdout) != "out" || string(res.Stderr) != "err\x00\xff" || res.Truncated != (i%3 == 0) ||
			res.ExitCode != i%5 || res.Attempt != i%2 || !sameTimes(res.Times, times(i)) || r.Owner != "a" || r.EndpointID != "e1" ||
			!r.Submitted.Equal(recs[i].Submitted) || !r.Stored.Equal(stored) {
			t.Fatalf("result %d fields: %+v", i, r)
		}
		if failed := i%100 == 50; failed != (res.Error != nil) || failed && (res.Error.Kind != funcx.TaskTimeout || res.Error.Message != "slow" || res.Error.Stack != "s") {
			t.Fatalf("result %d error: %+v", i, res.Error)
		}
	}
}

// A result is accepted only from the endpoint its task was routed to,
// and only while the task's registration (incarnation) is the
// endpoint's current one; a re-registration by the owner keeps it.
func testResultAcceptedOnlyFromItsRegistration(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	b.register(t, "e2", "b")
	ids := addTasks(t, st, "a", "e1", 3)

	out, err := st.StoreResults(ctx(t), "e2", success(ids[0]), now)
	if err != nil || len(out.Stored) != 0 || out.Foreign != 1 || out.Unknown != 0 {
		t.Fatalf("another endpoint's result: %+v %v, want one foreign", out, err)
	}
	// A restart re-registers: the tasks routed before it still count.
	if created, err := st.RegisterEndpoint(ctx(t), service.Endpoint{ID: "e1", Owner: "a", Name: "ep", Version: "2"}); err != nil || created {
		t.Fatalf("re-register: %v %v", created, err)
	}
	if out, err := st.StoreResults(ctx(t), "e1", success(ids[0]), now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("result after a restart: %+v %v", out, err)
	}
	b.env.Reroute(t, st, ids[1])
	out, err = st.StoreResults(ctx(t), "e1", success(ids[1], ids[2]), now)
	if err != nil || len(out.Stored) != 1 || out.Stored[0].Result.TaskID != ids[2] || out.Stale != 1 {
		t.Fatalf("results of two registrations: %+v %v, want ids[2] stored, one stale", out, err)
	}
	if ts, _ := st.Tasks(ctx(t), "a", ids[1:2]); len(ts) != 1 || ts[0].Result != nil {
		t.Fatalf("the stale result was stored: %+v", ts)
	}
}

// Results pages an owner's results by seq: after excludes, limit caps.
func testResultsPaging(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	ids := addTasks(t, st, "a", "e1", 5)
	var seqs []int64
	for _, id := range ids {
		out, err := st.StoreResults(ctx(t), "e1", success(id), now)
		if err != nil || len(out.Stored) != 1 {
			t.Fatalf("%+v %v", out, err)
		}
		seqs = append(seqs, out.Stored[0].Seq)
	}
	page, err := st.Results(ctx(t), "a", seqs[1], 2)
	if err != nil || len(page) != 2 || page[0].Seq != seqs[2] || page[1].Seq != seqs[3] || page[0].Result.TaskID != ids[2] {
		t.Fatalf("Results(after %d, limit 2) = %+v, %v; want seqs %v", seqs[1], page, err, seqs[2:4])
	}
	if page, err := st.Results(ctx(t), "a", seqs[4], 10); err != nil || len(page) != 0 {
		t.Fatalf("Results after the last: %+v %v", page, err)
	}
}

// What a store wrote is there after a restart, and a second store on the
// same database sees it.
func testPersists(t *testing.T, b *bundle) {
	b.world(t)
	ids := addTasks(t, b.st, "a", "e1", 2)
	if err := b.st.RecordHeartbeat(ctx(t), "e1", service.Heartbeat{Time: now, Workers: 4}); err != nil {
		t.Fatal(err)
	}
	out, err := b.st.StoreResults(ctx(t), "e1", success(ids[0]), now)
	if err != nil || len(out.Stored) != 1 {
		t.Fatal(out, err)
	}
	b.restart(t)
	other := b.another(t)
	for i, st := range []service.Store{b.st, other} {
		if id, err := st.IdentityByClientID(ctx(t), "ca"); err != nil || id.ID != "a" {
			t.Fatalf("store %d: identity: %+v %v", i, id, err)
		}
		if ep, err := st.Endpoint(ctx(t), "e1"); err != nil || ep.Heartbeat.Workers != 4 {
			t.Fatalf("store %d: endpoint: %+v %v", i, ep, err)
		}
		if ts, err := st.Tasks(ctx(t), "a", ids); err != nil || len(ts) != 2 {
			t.Fatalf("store %d: tasks: %+v %v", i, ts, err)
		}
		if rs, err := st.Results(ctx(t), "a", 0, 10); err != nil || len(rs) != 1 || rs[0].Seq != out.Stored[0].Seq {
			t.Fatalf("store %d: results: %+v %v", i, rs, err)
		}
	}
	// Seqs go on increasing after a restart.
	out2, err := other.StoreResults(ctx(t), "e1", success(ids[1]), now)
	if err != nil || len(out2.Stored) != 1 || out2.Stored[0].Seq <= out.Stored[0].Seq {
		t.Fatalf("after a restart: %+v %v (seq before %d)", out2, err, out.Stored[0].Seq)
	}
}

func sameTimes(a, b funcx.Timings) bool {
	return a.Received.Equal(b.Received) && a.Dispatched.Equal(b.Dispatched) && a.Started.Equal(b.Started) && a.Finished.Equal(b.Finished)
}
