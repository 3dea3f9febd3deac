package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// Tasks are stored only for an endpoint that exists and is the task
// owner's: a deleted one is ErrDeleted, a missing or another identity's
// ErrNotFound, and the whole call stores nothing.
func testAddTasksRefusesMissingEndpoints(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	b.register(t, "eb", "b")
	b.register(t, "gone", "a")
	if _, err := st.DeleteEndpoint(ctx(t), "gone", now); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ep   string
		want error
	}{{"nope", service.ErrNotFound}, {"eb", service.ErrNotFound}, {"gone", service.ErrDeleted}} {
		good := task("a", "e1")
		_, err := st.AddTasks(ctx(t), []service.TaskRecord{good, task("a", c.ep)})
		if !errors.Is(err, c.want) || c.want == service.ErrNotFound && errors.Is(err, service.ErrDeleted) {
			t.Errorf("AddTasks with a task on %s: %v, want %v", c.ep, err, c.want)
		}
		if ts, err := st.Tasks(ctx(t), "a", []funcx.TaskID{good.ID}); err != nil || len(ts) != 0 {
			t.Errorf("a refused submission stored %+v (%v)", ts, err)
		}
	}
}

// A task ID stored before with the same owner, endpoint and function is
// not stored again: if it was never published and has no result, it
// moves into the new submission; once published, or with a result, it
// stays out. A submission that holds no task has ID 0; one whose tasks
// all moved on is closed by Unpublished.
func testResubmissionMovesUnpublished(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	t1, t2, t3 := task("a", "e1"), task("a", "e1"), task("a", "e1")
	sub1, err := st.AddTasks(ctx(t), []service.TaskRecord{t1})
	if err != nil || sub1.ID == 0 || len(sub1.Tasks) != 1 || sub1.Tasks[0] != (service.AddedTask{Publish: true, State: funcx.StateWaitingForEndpoint}) {
		t.Fatalf("first: %+v %v", sub1, err)
	}
	sub2, err := st.AddTasks(ctx(t), []service.TaskRecord{t1, t2, t3})
	if err != nil || sub2.ID == 0 || sub2.ID == sub1.ID ||
		sub2.Tasks[0] != (service.AddedTask{Existing: true, Publish: true, State: funcx.StateWaitingForEndpoint}) || !sub2.Tasks[1].Publish || sub2.Tasks[1].Existing {
		t.Fatalf("resubmission: %+v %v", sub2, err)
	}
	if err := st.MarkPublished(ctx(t), sub2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.StoreResults(ctx(t), "e1", success(t3.ID), now); err != nil {
		t.Fatal(err)
	}
	sub3, err := st.AddTasks(ctx(t), []service.TaskRecord{t1, t3})
	if err != nil || sub3.ID != 0 || sub3.Tasks[0] != (service.AddedTask{Existing: true, State: funcx.StateWaitingForEndpoint}) ||
		sub3.Tasks[1] != (service.AddedTask{Existing: true, State: funcx.StateSuccess}) {
		t.Fatalf("after publish: %+v %v", sub3, err)
	}
	// sub1 is empty now: the sweeper closes it and lists nothing.
	if stale, err := st.Unpublished(ctx(t), now.Add(time.Second), 10); err != nil || len(stale) != 0 {
		t.Fatalf("unpublished: %+v %v", stale, err)
	}
}

// A task ID stored with another owner, endpoint or function fails the
// whole call with a *TaskConflictError naming it.
func testTaskIDConflict(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	b.register(t, "e2", "a")
	b.register(t, "eb", "b")
	b.function(t, "f2", "a")
	if err := st.CreateFunction(ctx(t), service.FunctionRecord{ID: "fb", Owner: "b", Function: funcx.Command("true")}); err != nil {
		t.Fatal(err)
	}
	orig := task("a", "e1")
	if _, err := st.AddTasks(ctx(t), []service.TaskRecord{orig}); err != nil {
		t.Fatal(err)
	}
	otherOwner, otherEndpoint, otherFunction := orig, orig, orig
	otherOwner.Owner, otherOwner.EndpointID, otherOwner.FunctionID = "b", "eb", "fb"
	otherEndpoint.EndpointID = "e2"
	otherFunction.FunctionID = "f2"
	for _, clash := range []service.TaskRecord{otherOwner, otherEndpoint, otherFunction} {
		fresh := task(clash.Owner, clash.EndpointID)
		fresh.FunctionID = clash.FunctionID
		_, err := st.AddTasks(ctx(t), []service.TaskRecord{fresh, clash})
		var ce *service.TaskConflictError
		if !errors.As(err, &ce) || ce.ID != orig.ID {
			t.Fatalf("AddTasks(%+v): %v, want a TaskConflictError for %s", clash, err, orig.ID)
		}
		if ts, err := st.Tasks(ctx(t), fresh.Owner, []funcx.TaskID{fresh.ID}); err != nil || len(ts) != 0 {
			t.Fatalf("a conflicting submission stored %+v (%v)", ts, err)
		}
	}
}

// A submission larger than any one statement stores every new task;
// tasks stored before are readded (moved into the submission if never
// published), and an ID given twice in one call is stored once, the
// second counted as existing.
func testAddTasksBatch(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	unpublished, published := task("a", "e1"), task("a", "e1")
	if _, err := st.AddTasks(ctx(t), []service.TaskRecord{unpublished}); err != nil {
		t.Fatal(err)
	}
	sub, err := st.AddTasks(ctx(t), []service.TaskRecord{published})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPublished(ctx(t), sub.ID); err != nil {
		t.Fatal(err)
	}

	const n = 1100
	recs := make([]service.TaskRecord, n)
	for i := range recs {
		recs[i] = task("a", "e1")
		recs[i].Submitted = now.Add(time.Duration(i))
	}
	recs[10], recs[600] = unpublished, published
	recs[1000] = recs[20] // the same ID twice
	sub, err = st.AddTasks(ctx(t), recs)
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
	stored, err := st.Tasks(ctx(t), "a", ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(ids) {
		t.Fatalf("%d of the %d tasks stored", len(stored), len(ids))
	}
	byID := make(map[funcx.TaskID]service.TaskRecord, len(stored))
	for _, s := range stored {
		byID[s.ID] = s
	}
	for i, r := range recs {
		s := byID[r.ID]
		if i == 10 || i == 600 || i == 1000 {
			continue
		}
		if s.Owner != "a" || s.EndpointID != "e1" || s.FunctionID != "f1" || s.State != funcx.StateWaitingForEndpoint || !s.Submitted.Equal(r.Submitted) || s.Result != nil {
			t.Fatalf("task %d read back as %+v, stored as %+v", i, s, r)
		}
	}
}

// DeleteUnpublished deletes only the given tasks still in the
// submission, only while it is unpublished, and never one with a result.
func testDeleteUnpublished(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	recs := []service.TaskRecord{task("a", "e1"), task("a", "e1"), task("a", "e1"), task("a", "e1")}
	sub, err := st.AddTasks(ctx(t), recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.StoreResults(ctx(t), "e1", success(recs[1].ID), now); err != nil {
		t.Fatal(err)
	}
	moved, err := st.AddTasks(ctx(t), []service.TaskRecord{recs[2]}) // now in another submission
	if err != nil || moved.ID == 0 {
		t.Fatal(moved, err)
	}
	ids := []funcx.TaskID{recs[0].ID, recs[1].ID, recs[2].ID}
	if err := st.DeleteUnpublished(ctx(t), sub.ID, ids); err != nil {
		t.Fatal(err)
	}
	left := map[funcx.TaskID]bool{}
	ts, err := st.Tasks(ctx(t), "a", []funcx.TaskID{recs[0].ID, recs[1].ID, recs[2].ID, recs[3].ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ts {
		left[s.ID] = true
	}
	if left[recs[0].ID] || !left[recs[1].ID] || !left[recs[2].ID] || !left[recs[3].ID] {
		t.Fatalf("after DeleteUnpublished: %v; want all but task 0", left)
	}
	if err := st.MarkPublished(ctx(t), moved.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUnpublished(ctx(t), moved.ID, []funcx.TaskID{recs[2].ID}); err != nil {
		t.Fatal(err)
	}
	if ts, err := st.Tasks(ctx(t), "a", []funcx.TaskID{recs[2].ID}); err != nil || len(ts) != 1 {
		t.Fatalf("DeleteUnpublished deleted a published task: %+v %v", ts, err)
	}
}

// Unpublished lists the tasks without a result of submissions made before
// the given time and never published, oldest first, up to the limit.
func testUnpublished(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	submit := func(at time.Time, n int) []service.TaskRecord {
		recs := make([]service.TaskRecord, n)
		for i := range recs {
			recs[i] = task("a", "e1")
			recs[i].Submitted = at
		}
		if _, err := st.AddTasks(ctx(t), recs); err != nil {
			t.Fatal(err)
		}
		return recs
	}
	newer := submit(now.Add(2*time.Second), 2)
	older := submit(now.Add(time.Second), 2)
	pub := submit(now, 1)
	sub, _ := st.AddTasks(ctx(t), pub) // the same task, moved into a submission published now
	if err := st.MarkPublished(ctx(t), sub.ID); err != nil {
		t.Fatal(err)
	}
	submit(now.Add(time.Hour), 1) // too new
	if _, err := st.StoreResults(ctx(t), "e1", success(older[1].ID), now); err != nil {
		t.Fatal(err)
	}
	got, err := st.Unpublished(ctx(t), now.Add(time.Minute), 10)
	if err != nil || len(got) != 3 || got[0].ID != older[0].ID || got[1].EndpointID != "e1" || got[1].Owner != "a" || got[1].FunctionID != "f1" {
		t.Fatalf("Unpublished = %+v, %v; want older[0], then newer's two", got, err)
	}
	for _, g := range got[1:] {
		if g.ID != newer[0].ID && g.ID != newer[1].ID || !g.Submitted.Equal(now.Add(2*time.Second)) {
			t.Fatalf("Unpublished = %+v; want newer's tasks after older[0]", got)
		}
	}
	if got, err := st.Unpublished(ctx(t), now.Add(time.Minute), 1); err != nil || len(got) != 1 || got[0].ID != older[0].ID {
		t.Fatalf("Unpublished with limit 1 = %+v, %v", got, err)
	}
}

// Tasks returns only the owner's tasks among those asked for, each with
// its result once it has one.
func testTasksOfOwner(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	b.register(t, "eb", "b")
	if err := st.CreateFunction(ctx(t), service.FunctionRecord{ID: "fb", Owner: "b", Function: funcx.Command("true")}); err != nil {
		t.Fatal(err)
	}
	mine := addTasks(t, st, "a", "e1", 2)
	theirs := task("b", "eb")
	theirs.FunctionID = "fb"
	if _, err := st.AddTasks(ctx(t), []service.TaskRecord{theirs}); err != nil {
		t.Fatal(err)
	}
	out, err := st.StoreResults(ctx(t), "e1", []funcx.Result{{TaskID: mine[1], State: funcx.StateFailed, ExitCode: 3,
		Error: &funcx.TaskError{Kind: funcx.RemoteError, Message: "boom", Stack: "at x"}}}, now)
	if err != nil || len(out.Stored) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	ts, err := st.Tasks(ctx(t), "a", []funcx.TaskID{mine[0], mine[1], theirs.ID, funcx.NewTaskID()})
	if err != nil || len(ts) != 2 {
		t.Fatalf("Tasks = %+v, %v; want a's two", ts, err)
	}
	for _, s := range ts {
		switch s.ID {
		case mine[0]:
			if s.Result != nil || s.State != funcx.StateWaitingForEndpoint {
				t.Errorf("waiting task: %+v", s)
			}
		case mine[1]:
			r := s.Result
			if r == nil || s.State != funcx.StateFailed || r.Seq != out.Stored[0].Seq || r.Owner != "a" || r.EndpointID != "e1" ||
				r.Result.TaskID != mine[1] || r.Result.ExitCode != 3 || r.Result.Error == nil || r.Result.Error.Message != "boom" || r.Result.Error.Stack != "at x" {
				t.Errorf("finished task: %+v %+v", s, r)
			}
		default:
			t.Errorf("unexpected task %+v", s)
		}
	}
}
