package sqlitestore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
	"github.com/funcx-go/funcx/service/storetest"
)

// TestConformance runs the store conformance suite, each check on a
// database file of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	var paths sync.Map // *sqlitestore.Store -> its file
	openAt := func(t *testing.T, path string) service.Store {
		t.Helper()
		// Two stores on one file wait for each other's write lock; on a
		// loaded machine (the race detector, other tests) a writer can
		// wait far longer than the default busy timeout.
		st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: path, BusyTimeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		paths.Store(st, path)
		return st
	}
	storetest.Run(t, storetest.Env{
		NewStore: func(t *testing.T) service.Store { return openAt(t, filepath.Join(t.TempDir(), "s.db")) },
		Reopen: func(t *testing.T, st service.Store) service.Store {
			path, _ := paths.Load(st)
			return openAt(t, path.(string))
		},
		// One writer per store: a store queues its own writers on its one
		// connection, so more add no concurrency to SQLite's, only longer
		// queues, behind which the other store's connection starves in
		// SQLite's busy handler (minutes under -race on a loaded machine).
		Writers: 2,
		Reroute: func(t *testing.T, st service.Store, id funcx.TaskID) {
			if err := st.(*sqlitestore.Store).Exec(context.Background(), `UPDATE tasks SET incarnation = incarnation + 1000 WHERE id = x'`+hexID(id)+`'`); err != nil {
				t.Fatal(err)
			}
		},
	})
}
