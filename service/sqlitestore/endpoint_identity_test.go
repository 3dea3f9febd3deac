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

func hexID(id funcx.TaskID) string { return strings.ReplaceAll(id.String(), "-", "") }

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
