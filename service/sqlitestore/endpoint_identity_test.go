package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// identities creates identities with these IDs (their names too).
func identities(t *testing.T, st *sqlitestore.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := st.CreateIdentity(context.Background(), service.IdentityRecord{Identity: service.Identity{ID: id, Name: id, ClientID: "c" + id}, SecretHash: []byte{0}}); err != nil {
			t.Fatal(err)
		}
	}
}

func register(t *testing.T, st *sqlitestore.Store, id, owner string) service.Endpoint {
	t.Helper()
	ctx := context.Background()
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: id, Owner: owner, Name: "ep"}); err != nil {
		t.Fatalf("register %s as %s: %v", id, owner, err)
	}
	ep, err := st.Endpoint(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// addTasks stores n waiting tasks of owner's function f1 on endpoint ep.
func addTasks(t *testing.T, st *sqlitestore.Store, owner, ep string, n int) []funcx.TaskID {
	t.Helper()
	var recs []service.TaskRecord
	var ids []funcx.TaskID
	for range n {
		id := funcx.NewTaskID()
		ids = append(ids, id)
		recs = append(recs, service.TaskRecord{ID: id, Owner: owner, EndpointID: ep, FunctionID: "f1", Submitted: time.Unix(1000, 0)})
	}
	if _, err := st.AddTasks(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	return ids
}

func success(ids ...funcx.TaskID) []funcx.Result {
	var rs []funcx.Result
	for _, id := range ids {
		rs = append(rs, funcx.Result{TaskID: id, State: funcx.StateSuccess, Output: []byte(`"forged?"`)})
	}
	return rs
}

// A deleted endpoint's ID can never be registered again: not by another
// identity, not by its owner; nor the IDs of a deleted identity.
func TestDeletedEndpointIDIsNeverReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "s.db"))
	identities(t, st, "alice", "bob", "carol")
	register(t, st, "e1", "alice")
	if _, err := st.DeleteEndpoint(ctx, "e1", time.Unix(2000, 0)); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "alice"} {
		created, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: who, Name: "again"})
		if !errors.Is(err, service.ErrDeleted) || created {
			t.Fatalf("%s registers the deleted e1: created %v, %v; want ErrDeleted", who, created, err)
		}
	}
	if _, err := st.Endpoint(ctx, "e1"); !errors.Is(err, service.ErrDeleted) || !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("Endpoint(e1) after delete: %v, want ErrDeleted (and ErrNotFound)", err)
	}
	if _, err := st.DeleteEndpoint(ctx, "e1", time.Unix(2001, 0)); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := st.Endpoint(ctx, "never"); !errors.Is(err, service.ErrNotFound) || errors.Is(err, service.ErrDeleted) {
		t.Fatalf("Endpoint(never): %v, want ErrNotFound only", err)
	}

	register(t, st, "e2", "carol")
	if err := st.DeleteIdentity(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e2", Owner: "bob", Name: "mine"}); !errors.Is(err, service.ErrDeleted) {
		t.Fatalf("bob registers a deleted identity's endpoint: %v, want ErrDeleted", err)
	}
}

// Deleting an endpoint fails every task of it without a result with
// EndpointDeleted, in the deletion's transaction; results stored before
// stay, other endpoints' tasks are untouched, and no task can be added
// to it any more.
func TestDeleteEndpointFailsItsTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1000, 0)
	st := openWithFunction(t, now) // alice is "a", with e1 and f1
	register(t, st, "e2", "a")
	waiting := addTasks(t, st, "a", "e1", 3)
	other := addTasks(t, st, "a", "e2", 1)
	if out, err := st.StoreResults(ctx, "e1", success(waiting[0]), now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("result before the delete: %+v %v", out, err)
	}

	at := time.Unix(3000, 0)
	d, err := st.DeleteEndpoint(ctx, "e1", at)
	if err != nil {
		t.Fatal(err)
	}
	if d.Owner != "a" || d.Failed != 2 || d.FirstSeq != 2 || d.LastSeq != 3 {
		t.Fatalf("deletion %+v, want 2 tasks of a failed, seqs 2..3", d)
	}
	rs, err := st.Results(ctx, "a", 1, 10)
	if err != nil || len(rs) != 2 {
		t.Fatalf("results after the delete: %+v %v", rs, err)
	}
	for i, r := range rs {
		e := r.Result.Error
		if r.Result.TaskID != waiting[i+1] || r.Result.State != funcx.StateFailed || e == nil || e.Kind != funcx.EndpointDeleted ||
			!strings.Contains(e.Message, "endpoint e1 was deleted") || !r.Stored.Equal(at) || r.EndpointID != "e1" || !errors.Is(e, funcx.ErrEndpointDeleted) {
			t.Fatalf("result %d: %+v %+v", i, r, e)
		}
	}
	ts, err := st.Tasks(ctx, "a", append(waiting, other...))
	if err != nil || len(ts) != 4 {
		t.Fatalf("tasks: %+v %v", ts, err)
	}
	for _, task := range ts {
		want := funcx.StateFailed
		switch task.ID {
		case waiting[0]:
			want = funcx.StateSuccess
		case other[0]:
			want = funcx.StateWaitingForEndpoint
		}
		if task.State != want {
			t.Errorf("task %s of %s: %v, want %v", task.ID, task.EndpointID, task.State, want)
		}
	}
	// A late result from the deleted endpoint changes nothing.
	if out, err := st.StoreResults(ctx, "e1", success(waiting[1]), at); err != nil || len(out.Stored) != 0 || out.Duplicates != 1 {
		t.Fatalf("late result: %+v %v", out, err)
	}
	_, err = st.AddTasks(ctx, []service.TaskRecord{{ID: funcx.NewTaskID(), Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: at}})
	if !errors.Is(err, service.ErrDeleted) {
		t.Fatalf("AddTasks to the deleted endpoint: %v, want ErrDeleted", err)
	}
	if stale, err := st.Unpublished(ctx, at.Add(time.Hour), 10); err != nil || len(stale) != 1 || stale[0].ID != other[0] {
		t.Fatalf("unpublished after the delete: %+v %v, want only e2's task", stale, err)
	}
}

// A result is accepted only from the endpoint its task was routed to,
// and only while the task's registration (incarnation) is the
// endpoint's current one; a re-registration by the owner keeps it.
func TestResultAcceptedOnlyFromItsRegistration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1000, 0)
	st := openWithFunction(t, now)
	identities(t, st, "b")
	e1, _ := st.Endpoint(ctx, "e1")
	e2 := register(t, st, "e2", "b")
	if e1.Incarnation == 0 || e2.Incarnation == e1.Incarnation {
		t.Fatalf("incarnations %d and %d: want distinct, non-zero", e1.Incarnation, e2.Incarnation)
	}
	ids := addTasks(t, st, "a", "e1", 3)

	out, err := st.StoreResults(ctx, "e2", success(ids[0]), now)
	if err != nil || len(out.Stored) != 0 || out.Foreign != 1 || out.Unknown != 0 {
		t.Fatalf("another endpoint's result: %+v %v, want one foreign", out, err)
	}

	// A restart re-registers: the tasks routed before it still count.
	if created, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "a", Name: "ep", Version: "2"}); err != nil || created {
		t.Fatalf("re-register: %v %v", created, err)
	}
	if again, _ := st.Endpoint(ctx, "e1"); again.Incarnation != e1.Incarnation || again.Version != "2" {
		t.Fatalf("re-registration changed the incarnation: %d -> %d", e1.Incarnation, again.Incarnation)
	}
	if out, err := st.StoreResults(ctx, "e1", success(ids[0]), now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("result after a restart: %+v %v", out, err)
	}

	// A task routed to another registration of e1 (which tombstones make
	// unreachable through the API) gets no result from this one.
	if err := st.Exec(ctx, `UPDATE tasks SET incarnation = incarnation + 1000 WHERE id = x'`+hexID(ids[1])+`'`); err != nil {
		t.Fatal(err)
	}
	out, err = st.StoreResults(ctx, "e1", success(ids[1], ids[2]), now)
	if err != nil || len(out.Stored) != 1 || out.Stored[0].Result.TaskID != ids[2] || out.Stale != 1 {
		t.Fatalf("results of two registrations: %+v %v, want ids[2] stored, one stale", out, err)
	}
	if ts, _ := st.Tasks(ctx, "a", ids[1:2]); len(ts) != 1 || ts[0].Result != nil {
		t.Fatalf("the stale result was stored: %+v", ts)
	}
}

func hexID(id funcx.TaskID) string { return strings.ReplaceAll(id.String(), "-", "") }

// A registration the service could not complete is forgotten without a
// tombstone, unless a task was routed to it.
func TestForgetNewEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openWithFunction(t, time.Unix(1000, 0))
	identities(t, st, "b")
	register(t, st, "e2", "a")
	if err := st.ForgetNewEndpoint(ctx, "e2"); err != nil {
		t.Fatal(err)
	}
	register(t, st, "e2", "b") // not tombstoned: free again

	addTasks(t, st, "a", "e1", 1)
	if err := st.ForgetNewEndpoint(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Endpoint(ctx, "e1"); err != nil {
		t.Fatalf("an endpoint with a task was forgotten: %v", err)
	}
}

// A database of schema 2 gets incarnations, tombstones and failures for
// what an older service left: its live endpoint keeps accepting results
// of its waiting tasks; the IDs of endpoints deleted before are
// tombstoned and their waiting tasks fail with EndpointDeleted.
func TestEndpointIdentityMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1000, 0)
	path := filepath.Join(t.TempDir(), "s.db")
	st := open(t, path)
	identities(t, st, "a", "b")
	if err := st.CreateFunction(ctx, service.FunctionRecord{ID: "f1", Owner: "a", Function: funcx.Command("true")}); err != nil {
		t.Fatal(err)
	}
	register(t, st, "live", "a")
	register(t, st, "gone", "a")
	live := addTasks(t, st, "a", "live", 1)
	gone := addTasks(t, st, "a", "gone", 2)
	if out, err := st.StoreResults(ctx, "gone", success(gone[0]), now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	rewind(t, st, 2)
	// The old DeleteEndpoint: the row goes, its tasks stay, waiting.
	if err := st.Exec(ctx, `DELETE FROM endpoints WHERE id = 'gone'`); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = open(t, path)
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "gone", Owner: "b", Name: "mine"}); !errors.Is(err, service.ErrDeleted) {
		t.Fatalf("register an ID deleted before the migration: %v, want ErrDeleted", err)
	}
	ts, err := st.Tasks(ctx, "a", gone)
	if err != nil || len(ts) != 2 || ts[0].Result == nil || ts[1].Result == nil {
		t.Fatalf("tasks of the deleted endpoint: %+v %v", ts, err)
	}
	for _, task := range ts {
		r := task.Result.Result
		if task.ID == gone[0] && r.State != funcx.StateSuccess {
			t.Errorf("the stored result was replaced: %+v", r)
		}
		if task.ID == gone[1] && (r.Error == nil || r.Error.Kind != funcx.EndpointDeleted || !strings.Contains(r.Error.Message, "endpoint gone was deleted")) {
			t.Errorf("the waiting task of the deleted endpoint: %+v", r)
		}
	}
	if out, err := st.StoreResults(ctx, "live", success(live...), now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("result of a task routed before the migration: %+v %v", out, err)
	}
	old, _ := st.Endpoint(ctx, "live")
	fresh := register(t, st, "fresh", "b")
	if old.Incarnation == 0 || fresh.Incarnation <= old.Incarnation {
		t.Fatalf("incarnations: migrated %d, new %d", old.Incarnation, fresh.Incarnation)
	}
}

// BenchmarkDeleteEndpoint deletes an endpoint with 100,000 waiting tasks:
// one transaction fails them all (the writer is held that long).
func BenchmarkDeleteEndpoint(b *testing.B) {
	ctx := context.Background()
	const tasks, batch = 100_000, 10_000
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(b.TempDir(), "s.db")})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: "a", Name: "a", ClientID: "ca"}, SecretHash: []byte{0}}); err != nil {
			b.Fatal(err)
		}
		if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "a", Name: "ep"}); err != nil {
			b.Fatal(err)
		}
		recs := make([]service.TaskRecord, batch)
		for range tasks / batch {
			for j := range recs {
				recs[j] = service.TaskRecord{ID: funcx.NewTaskID(), Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: time.Unix(1, 0)}
			}
			if _, err := st.AddTasks(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		d, err := st.DeleteEndpoint(ctx, "e1", time.Unix(2, 0))
		elapsed += time.Since(start)
		if err != nil || d.Failed != tasks {
			b.Fatalf("%+v %v", d, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(tasks*b.N)/elapsed.Seconds(), "tasks-failed/s")
}
