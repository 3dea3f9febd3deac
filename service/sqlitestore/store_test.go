package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openWithFunction opens a store holding identity "a", its endpoint "e1"
// (registered at now) and its function "f1": what tasks need.
func openWithFunction(t *testing.T, now time.Time) *sqlitestore.Store {
	t.Helper()
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "s.db"))
	if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: "a", Name: "a", ClientID: "ca"}, SecretHash: []byte{0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "a", Name: "ep", RegisteredAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateFunction(ctx, service.FunctionRecord{ID: "f1", Owner: "a", Function: funcx.Command("true")}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("reopen keeps data and migrates once", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "s.db")
		st := open(t, path)
		id := service.IdentityRecord{Identity: service.Identity{ID: "i1", Name: "alice", ClientID: "c1", CreatedAt: time.Now()}, SecretHash: []byte{1}}
		if err := st.CreateIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
		st.Close()
		st = open(t, path)
		got, err := st.IdentityByClientID(ctx, "c1")
		if err != nil || got.Name != "alice" {
			t.Fatalf("after reopen: %+v %v", got, err)
		}
	})
	t.Run("in memory", func(t *testing.T) {
		t.Parallel()
		st := open(t, ":memory:")
		if _, err := st.Identities(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		t.Parallel()
		for _, cfg := range []sqlitestore.Config{{}, {Path: "a?b"}, {Path: "x", MaxReaders: -1}} {
			if _, err := sqlitestore.Open(ctx, cfg); err == nil {
				t.Errorf("Open(%+v) succeeded", cfg)
			}
		}
	})
}

// TestStoreSemantics checks the parts of the Store contract that the
// service's HTTP tests reach only indirectly.
func TestStoreSemantics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "s.db"))
	now := time.Unix(1000, 0)
	for _, name := range []string{"a", "b"} {
		if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: name, Name: name, ClientID: "c" + name}, SecretHash: []byte{0}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: "x", Name: "a", ClientID: "cx"}, SecretHash: []byte{0}}); !errors.Is(err, service.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "a", Name: "ep", RegisteredAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "b", Name: "ep"}); !errors.Is(err, service.ErrNotOwner) {
		t.Fatalf("b re-registers a's endpoint: %v", err)
	}
	if err := st.CreateFunction(ctx, service.FunctionRecord{ID: "f1", Owner: "a", Function: funcx.Command("true")}); err != nil {
		t.Fatal(err)
	}
	task := func(id funcx.TaskID) service.TaskRecord {
		return service.TaskRecord{ID: id, Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: now}
	}
	t1, t2 := funcx.NewTaskID(), funcx.NewTaskID()

	t.Run("an unpublished task moves into a resubmission", func(t *testing.T) {
		sub1, err := st.AddTasks(ctx, []service.TaskRecord{task(t1)})
		if err != nil || !sub1.Tasks[0].Publish || sub1.Tasks[0].Existing {
			t.Fatalf("first: %+v %v", sub1, err)
		}
		sub2, err := st.AddTasks(ctx, []service.TaskRecord{task(t1), task(t2)})
		if err != nil || !sub2.Tasks[0].Existing || !sub2.Tasks[0].Publish || !sub2.Tasks[1].Publish {
			t.Fatalf("resubmission: %+v %v", sub2, err)
		}
		if err := st.MarkPublished(ctx, sub2.ID); err != nil {
			t.Fatal(err)
		}
		sub3, err := st.AddTasks(ctx, []service.TaskRecord{task(t1)})
		if err != nil || sub3.ID != 0 || sub3.Tasks[0].Publish {
			t.Fatalf("after publish: %+v %v", sub3, err)
		}
		// sub1 is empty now: the sweeper closes it and lists nothing.
		stale, err := st.Unpublished(ctx, now.Add(time.Second), 10)
		if err != nil || len(stale) != 0 {
			t.Fatalf("unpublished: %+v %v", stale, err)
		}
	})
	t.Run("conflicting task ID", func(t *testing.T) {
		other := task(t1)
		other.Owner = "b"
		_, err := st.AddTasks(ctx, []service.TaskRecord{task(funcx.NewTaskID()), other})
		var ce *service.TaskConflictError
		if !errors.As(err, &ce) || ce.ID != t1 {
			t.Fatalf("conflict: %v", err)
		}
	})
	t.Run("first terminal result wins", func(t *testing.T) {
		out, err := st.StoreResults(ctx, "e1", []funcx.Result{
			{TaskID: t2, State: funcx.StateSuccess, Output: []byte("1")},
			{TaskID: t2, State: funcx.StateFailed},
		}, now)
		if err != nil || len(out.Stored) != 1 || out.Duplicates != 1 || out.Stored[0].Owner != "a" {
			t.Fatalf("store: %+v %v", out, err)
		}
		out, err = st.StoreResults(ctx, "e2", []funcx.Result{{TaskID: t1, State: funcx.StateSuccess}}, now)
		if err != nil || len(out.Stored) != 0 || out.Foreign != 1 {
			t.Fatalf("wrong endpoint: %+v %v", out, err)
		}
		rs, err := st.Results(ctx, "a", 0, 10)
		if err != nil || len(rs) != 1 || string(rs[0].Result.Output) != "1" {
			t.Fatalf("results: %+v %v", rs, err)
		}
		if rs, _ := st.Results(ctx, "b", 0, 10); len(rs) != 0 {
			t.Fatalf("b sees a's results")
		}
	})
	t.Run("delete identity cascades", func(t *testing.T) {
		if err := st.DeleteIdentity(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Endpoint(ctx, "e1"); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("endpoint survived: %v", err)
		}
		if ts, err := st.Tasks(ctx, "a", []funcx.TaskID{t1, t2}); err != nil || len(ts) != 0 {
			t.Fatalf("tasks survived: %+v %v", ts, err)
		}
		if err := st.DeleteIdentity(ctx, "a"); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	st := open(t, path)
	// A newer program's migration, recorded behind this one's back.
	if err := st.Exec(context.Background(), `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: path})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}
