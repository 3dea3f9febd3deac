package sqlitestore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// walFrameSize is one page of the WAL: a 24-byte frame header and a
// page of SQLite's default 4096 bytes.
const walFrameSize = 24 + 4096

// walFrames is how many frames the -wal file beside path has room for:
// the most the WAL has held since it was created (a WAL restarted by a
// checkpoint is rewritten from its start, not cut).
func walFrames(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return int((fi.Size() - 32) / walFrameSize)
}

// seedOneEndpoint stores identity "a", its endpoint "e1" and its
// function "f1".
func seedOneEndpoint(tb testing.TB, st *sqlitestore.Store) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: "a", Name: "a", ClientID: "ca", CreatedAt: now}, SecretHash: []byte{1}}); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "a", Name: "e1", RegisteredAt: now}); err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateFunction(ctx, service.FunctionRecord{ID: "f1", Owner: "a", Name: "f1", Function: funcx.Command("true"), CreatedAt: now}); err != nil {
		tb.Fatal(err)
	}
}

// submitOneByOne commits n single-task submissions and their results:
// 2n write transactions of a few pages each, as n tasks sent one at a
// time make.
func submitOneByOne(t *testing.T, st *sqlitestore.Store, n int) {
	t.Helper()
	ctx := context.Background()
	seedOneEndpoint(t, st)
	for range n {
		rec := service.TaskRecord{ID: funcx.NewTaskID(), Owner: "a", EndpointID: "e1", FunctionID: "f1", Submitted: time.Now()}
		if _, err := st.AddTasks(ctx, []service.TaskRecord{rec}); err != nil {
			t.Fatal(err)
		}
		out, err := st.StoreResults(ctx, "e1", []funcx.Result{{TaskID: rec.ID, State: funcx.StateSuccess, Output: []byte("null")}}, time.Now())
		if err != nil || len(out.Stored) != 1 {
			t.Fatalf("store result: %+v %v", out, err)
		}
	}
}

// TestCommitsLeaveCheckpointsToTheCheckpointer: no commit copies the
// WAL into the database file (SQLite's default does, in the commit that
// takes the WAL past 1,000 pages, and that commit waits about 8 ms for
// it); the checkpointer does, on its own connection.
func TestCommitsLeaveCheckpointsToTheCheckpointer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path, CheckpointInterval: time.Hour}) // only when told
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	submitOneByOne(t, st, 600)

	// Had a commit checkpointed, the WAL would have restarted at about
	// 1,000 frames and be no larger.
	if n := walFrames(t, path); n < 1500 {
		t.Fatalf("the WAL holds %d frames after 1,200 commits: a commit checkpointed it", n)
	}
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	log, done, ok := st.LastCheckpoint()
	if !ok || log < 1500 || done != log {
		t.Fatalf("checkpoint: %d of %d WAL pages copied (ran: %v), want all of at least 1,500", done, log, ok)
	}
}

// TestCheckpointerRunsOnItsOwn: the checkpointer copies the WAL every
// CheckpointInterval, and the WAL file is gone once the store is closed.
func TestCheckpointerRunsOnItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path, CheckpointInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	submitOneByOne(t, st, 100)
	// A liveness bound, not a timing: the checkpointer runs every 10 ms.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if log, done, ok := st.LastCheckpoint(); ok && log > 0 && done == log {
			break
		}
		if time.Now().After(deadline) {
			log, done, ok := st.LastCheckpoint()
			t.Fatalf("no checkpoint copied the whole WAL within 30 s: last %d of %d pages (ran: %v)", done, log, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Close the WAL file is still there (%v)", err)
	}
}
