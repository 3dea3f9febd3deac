package storetest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
)

// A registration creates the endpoint with a new incarnation; the
// owner's re-registration updates its names and keeps the incarnation;
// another identity's is ErrNotOwner. Endpoints lists the owner's by name.
func testRegisterEndpoint(t *testing.T, b *bundle) {
	st := b.st
	b.identities(t, "a", "b")
	created, err := st.RegisterEndpoint(ctx(t), service.Endpoint{ID: "e1", Owner: "a", Name: "zz", DisplayName: "Z", Version: "1", RegisteredAt: now})
	if err != nil || !created {
		t.Fatalf("first registration: %v %v", created, err)
	}
	first, err := st.Endpoint(ctx(t), "e1")
	if err != nil || first.Owner != "a" || first.Name != "zz" || first.DisplayName != "Z" || first.Version != "1" ||
		!first.RegisteredAt.Equal(now) || first.Incarnation == 0 || !first.Heartbeat.Time.IsZero() {
		t.Fatalf("Endpoint(e1) = %+v, %v", first, err)
	}
	later := now.Add(time.Minute)
	created, err = st.RegisterEndpoint(ctx(t), service.Endpoint{ID: "e1", Owner: "a", Name: "aa", DisplayName: "A", Version: "2", RegisteredAt: later})
	if err != nil || created {
		t.Fatalf("re-registration: %v %v", created, err)
	}
	again, _ := st.Endpoint(ctx(t), "e1")
	if again.Incarnation != first.Incarnation || again.Name != "aa" || again.DisplayName != "A" || again.Version != "2" || !again.RegisteredAt.Equal(later) {
		t.Fatalf("after re-registration: %+v (first %+v)", again, first)
	}
	if _, err := st.RegisterEndpoint(ctx(t), service.Endpoint{ID: "e1", Owner: "b", Name: "mine"}); !errors.Is(err, service.ErrNotOwner) {
		t.Fatalf("b registers a's endpoint: %v, want ErrNotOwner", err)
	}
	b.register(t, "e0", "a")
	e2 := b.register(t, "e2", "b")
	if e2.Incarnation == first.Incarnation || e2.Incarnation == 0 {
		t.Fatalf("incarnations %d and %d: want distinct, non-zero", first.Incarnation, e2.Incarnation)
	}
	eps, err := st.Endpoints(ctx(t), "a")
	if err != nil || len(eps) != 2 || eps[0].ID != "e1" || eps[1].ID != "e0" { // by name: "aa", "ep-e0"
		t.Fatalf("Endpoints(a) = %+v, %v; want e1, e0", eps, err)
	}
	if eps, err := st.Endpoints(ctx(t), "nobody"); err != nil || len(eps) != 0 {
		t.Fatalf("Endpoints(nobody) = %+v, %v", eps, err)
	}
	if _, err := st.Endpoint(ctx(t), "never"); !errors.Is(err, service.ErrNotFound) || errors.Is(err, service.ErrDeleted) {
		t.Fatalf("Endpoint(never): %v, want ErrNotFound only", err)
	}
}

// EndpointIDs lists every owner's endpoints, and no deleted one.
func testEndpointIDs(t *testing.T, b *bundle) {
	st := b.st
	if ids, err := st.EndpointIDs(ctx(t)); err != nil || len(ids) != 0 {
		t.Fatalf("empty store: %v, %v", ids, err)
	}
	b.identities(t, "a", "b")
	b.register(t, "e1", "a")
	b.register(t, "e2", "b")
	b.register(t, "e3", "a")
	if _, err := st.DeleteEndpoint(ctx(t), "e3", now); err != nil {
		t.Fatal(err)
	}
	ids, err := st.EndpointIDs(ctx(t))
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"e1", "e2"}) {
		t.Fatalf("EndpointIDs = %v, %v; want e1 e2", ids, err)
	}
}

// A heartbeat's detail is stored with it and replaced, or cleared, by
// the next heartbeat; an unknown endpoint's is ErrNotFound.
func testHeartbeats(t *testing.T, b *bundle) {
	st := b.st
	b.identities(t, "a")
	b.register(t, "e1", "a")
	at := time.Unix(2000, 0).UTC()
	hb := service.Heartbeat{Time: time.Unix(3000, 0), Managers: 1, Workers: 2, Outstanding: 3, Detail: broker.HeartbeatDetail{
		Blocks:        map[string]int{"failed": 2, "pending": 1},
		BlockError:    &broker.BlockError{Message: "submit block 2: sbatch: error: invalid account", Time: at},
		BlockProblems: []broker.BlockProblem{{Block: "2", State: "failed", Message: "submit block 2: sbatch: error: invalid account", Time: at}},
		Routing: &broker.Routing{Total: broker.RoutingFigures{WarmHits: 3, ColdStarts: 1},
			Managers: []broker.ManagerRouting{{Manager: "m", RoutingFigures: broker.RoutingFigures{WarmHits: 3, ColdStarts: 1}}}},
	}}
	if err := st.RecordHeartbeat(ctx(t), "e1", hb); err != nil {
		t.Fatal(err)
	}
	ep, err := st.Endpoint(ctx(t), "e1")
	if err != nil || !ep.Heartbeat.Time.Equal(hb.Time) || ep.Heartbeat.Managers != 1 || ep.Heartbeat.Workers != 2 || ep.Heartbeat.Outstanding != 3 ||
		ep.Heartbeat.Stopping || !reflect.DeepEqual(ep.Heartbeat.Detail, hb.Detail) {
		t.Fatalf("heartbeat read back:\n got %+v (%v)\nwant %+v", ep.Heartbeat, err, hb)
	}
	if err := st.RecordHeartbeat(ctx(t), "e1", service.Heartbeat{Time: time.Unix(3030, 0), Workers: 5, Stopping: true}); err != nil {
		t.Fatal(err)
	}
	eps, err := st.Endpoints(ctx(t), "a")
	if err != nil || len(eps) != 1 || eps[0].Heartbeat.Workers != 5 || !eps[0].Heartbeat.Stopping || !reflect.DeepEqual(eps[0].Heartbeat.Detail, broker.HeartbeatDetail{}) {
		t.Fatalf("a heartbeat without detail left %+v (%v)", eps, err)
	}
	if err := st.RecordHeartbeat(ctx(t), "nope", hb); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("heartbeat of an unknown endpoint: %v, want ErrNotFound", err)
	}
}

// A deleted endpoint's ID can never be registered again: not by another
// identity, not by its owner.
func testDeletedEndpointIDIsNeverReused(t *testing.T, b *bundle) {
	st := b.st
	b.identities(t, "alice", "bob")
	b.register(t, "e1", "alice")
	if _, err := st.DeleteEndpoint(ctx(t), "e1", now); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "alice"} {
		created, err := st.RegisterEndpoint(ctx(t), service.Endpoint{ID: "e1", Owner: who, Name: "again"})
		if !errors.Is(err, service.ErrDeleted) || created {
			t.Fatalf("%s registers the deleted e1: created %v, %v; want ErrDeleted", who, created, err)
		}
	}
	if _, err := st.Endpoint(ctx(t), "e1"); !errors.Is(err, service.ErrDeleted) || !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("Endpoint(e1) after delete: %v, want ErrDeleted (and ErrNotFound)", err)
	}
	if _, err := st.DeleteEndpoint(ctx(t), "e1", now); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := st.DeleteEndpoint(ctx(t), "never", now); !errors.Is(err, service.ErrNotFound) || errors.Is(err, service.ErrDeleted) {
		t.Fatalf("delete of an unknown endpoint: %v, want ErrNotFound only", err)
	}
}

// Deleting an endpoint fails every task of it without a result with
// EndpointDeleted, in the deletion's transaction, numbered in task order
// with the seqs it reports; results stored before stay, other
// endpoints' tasks are untouched, and no task can be added to it any
// more.
func testDeleteEndpointFailsItsTasks(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.register(t, "e2", "a")
	waiting := addTasks(t, st, "a", "e1", 3)
	other := addTasks(t, st, "a", "e2", 1)
	out, err := st.StoreResults(ctx(t), "e1", success(waiting[0]), now)
	if err != nil || len(out.Stored) != 1 {
		t.Fatalf("result before the delete: %+v %v", out, err)
	}
	before := out.Stored[0].Seq

	at := time.Unix(3000, 0)
	d, err := st.DeleteEndpoint(ctx(t), "e1", at)
	if err != nil {
		t.Fatal(err)
	}
	if d.Owner != "a" || d.Failed != 2 || d.FirstSeq <= before || d.LastSeq != d.FirstSeq+1 {
		t.Fatalf("deletion %+v, want 2 tasks of a failed, with consecutive seqs after %d", d, before)
	}
	rs := allResults(t, st, "a", before)
	if len(rs) != 2 {
		t.Fatalf("results after the delete: %+v", rs)
	}
	for i, r := range rs {
		e := r.Result.Error
		if r.Seq != d.FirstSeq+int64(i) || r.Result.TaskID != waiting[i+1] || r.Result.State != funcx.StateFailed || e == nil || e.Kind != funcx.EndpointDeleted ||
			!strings.Contains(e.Message, "endpoint e1 was deleted") || !r.Stored.Equal(at) || r.EndpointID != "e1" || r.Owner != "a" ||
			!r.Submitted.Equal(now) || !errors.Is(e, funcx.ErrEndpointDeleted) {
			t.Fatalf("result %d: %+v %+v", i, r, e)
		}
	}
	ts, err := st.Tasks(ctx(t), "a", append(waiting, other...))
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
	if out, err := st.StoreResults(ctx(t), "e1", success(waiting[1]), at); err != nil || len(out.Stored) != 0 || out.Duplicates != 1 {
		t.Fatalf("late result: %+v %v", out, err)
	}
	_, err = st.AddTasks(ctx(t), []service.TaskRecord{task("a", "e1")})
	if !errors.Is(err, service.ErrDeleted) {
		t.Fatalf("AddTasks to the deleted endpoint: %v, want ErrDeleted", err)
	}
	if stale, err := st.Unpublished(ctx(t), at.Add(time.Hour), 10); err != nil || len(stale) != 1 || stale[0].ID != other[0] {
		t.Fatalf("unpublished after the delete: %+v %v, want only e2's task", stale, err)
	}
	// e2 has one task to fail; an endpoint without tasks none.
	if d, err := st.DeleteEndpoint(ctx(t), "e2", at); err != nil || d.Failed != 1 {
		t.Fatalf("delete e2: %+v %v", d, err)
	}
	b.register(t, "e3", "a")
	if d, err := st.DeleteEndpoint(ctx(t), "e3", at); err != nil || d.Failed != 0 || d.Owner != "a" {
		t.Fatalf("delete an endpoint without tasks: %+v %v", d, err)
	}
}

// A registration the service could not complete is forgotten without a
// tombstone, unless a task was routed to it.
func testForgetNewEndpoint(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	b.register(t, "e2", "a")
	if err := st.ForgetNewEndpoint(ctx(t), "e2"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Endpoint(ctx(t), "e2"); !errors.Is(err, service.ErrNotFound) || errors.Is(err, service.ErrDeleted) {
		t.Fatalf("a forgotten endpoint: %v, want ErrNotFound only", err)
	}
	b.register(t, "e2", "b") // not tombstoned: free again

	addTasks(t, st, "a", "e1", 1)
	if err := st.ForgetNewEndpoint(ctx(t), "e1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Endpoint(ctx(t), "e1"); err != nil {
		t.Fatalf("an endpoint with a task was forgotten: %v", err)
	}
}
