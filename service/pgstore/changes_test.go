package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/pgstore"
	"github.com/funcx-go/funcx/service/pgstore/pgstoretest"
)

// watcher runs st.WatchChanges until the test ends and yields the changes.
func watcher(t *testing.T, st *pgstore.Store) <-chan service.Change {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan service.Change, 100)
	done := make(chan error)
	go func() { done <- st.WatchChanges(ctx, func(c service.Change) { ch <- c }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchChanges: %v", err)
		}
	})
	return ch
}

// next returns the next change, failing the test after a minute.
func next(t *testing.T, ch <-chan service.Change) service.Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(time.Minute):
		t.Fatal("no change within a minute")
		return service.Change{}
	}
}

// The changes of one store reach a watcher on another (results with
// their owners and last seq, deletions, announced endpoints, an
// identity's endpoints) and never its own; the watch begins with a
// resync, and does one again after its connection was cut.
func TestWatchChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgstoretest.Schema(t)
	a := pgstoretest.Open(t, schema, pgstore.Config{})
	b := pgstoretest.Open(t, schema, pgstore.Config{})
	changes := watcher(t, b)
	if c := next(t, changes); c.Kind != service.ChangeResync {
		t.Fatalf("first change %+v, want a resync", c)
	}

	for _, id := range []string{"alice", "bob"} {
		if err := a.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: id, Name: id, ClientID: "c" + id}, SecretHash: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.RegisterEndpoint(ctx, service.Endpoint{ID: "e-" + id, Owner: id, Name: "ep"}); err != nil {
			t.Fatal(err)
		}
		if err := a.CreateFunction(ctx, service.FunctionRecord{ID: "f1-" + id, Owner: id, Function: funcx.Command("true")}); err != nil {
			t.Fatal(err)
		}
	}
	add := func(owner string, n int) []funcx.TaskID {
		var recs []service.TaskRecord
		var ids []funcx.TaskID
		for range n {
			id := funcx.NewTaskID()
			recs = append(recs, service.TaskRecord{ID: id, Owner: owner, EndpointID: "e-" + owner, FunctionID: "f1-" + owner})
			ids = append(ids, id)
		}
		if _, err := a.AddTasks(ctx, recs); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	ids := add("alice", 3)
	out, err := a.StoreResults(ctx, "e-alice", []funcx.Result{{TaskID: ids[0], State: funcx.StateSuccess}, {TaskID: ids[1], State: funcx.StateSuccess}}, time.Now())
	if err != nil || len(out.Stored) != 2 {
		t.Fatal(out, err)
	}
	if c := next(t, changes); c.Kind != service.ChangeResults || !slices.Equal(c.Owners, []string{"alice"}) || c.LastSeq != out.Stored[1].Seq {
		t.Fatalf("change %+v, want alice's results up to %d", c, out.Stored[1].Seq)
	}

	if err := a.AnnounceEndpoint(ctx, "e-bob"); err != nil {
		t.Fatal(err)
	}
	if c := next(t, changes); c.Kind != service.ChangeEndpointReady || c.EndpointID != "e-bob" {
		t.Fatalf("change %+v, want e-bob ready", c)
	}
	// b's own changes are not reported to b.
	bobs := add("bob", 1)
	if _, err := b.StoreResults(ctx, "e-bob", []funcx.Result{{TaskID: bobs[0], State: funcx.StateSuccess}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	d, err := a.DeleteEndpoint(ctx, "e-alice", time.Now())
	if err != nil || d.Failed != 1 {
		t.Fatal(d, err)
	}
	if c := next(t, changes); c.Kind != service.ChangeEndpointDeleted || c.EndpointID != "e-alice" || !slices.Equal(c.Owners, []string{"alice"}) || c.LastSeq != d.LastSeq {
		t.Fatalf("change %+v, want e-alice deleted, alice's results up to %d", c, d.LastSeq)
	}
	if err := a.DeleteIdentity(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if c := next(t, changes); c.Kind != service.ChangeEndpointDeleted || c.EndpointID != "e-bob" || len(c.Owners) != 0 {
		t.Fatalf("change %+v, want e-bob deleted with its owner", c)
	}

	// The listening connection is cut: the watch listens again and
	// says that changes may have been missed.
	if err := a.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, "funcx-service listen "+schema); err != nil {
		t.Fatal(err)
	}
	if c := next(t, changes); c.Kind != service.ChangeResync {
		t.Fatalf("change after the connection was cut: %+v, want a resync", c)
	}
}

// Closing the store ends WatchChanges.
func TestCloseEndsWatch(t *testing.T) {
	t.Parallel()
	st := pgstoretest.Open(t, pgstoretest.Schema(t), pgstore.Config{})
	done := make(chan error)
	started := make(chan struct{}, 1)
	go func() {
		done <- st.WatchChanges(context.Background(), func(service.Change) {
			select {
			case started <- struct{}{}:
			default:
			}
		})
	}()
	<-started
	st.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("WatchChanges outlived Close")
	}
}
