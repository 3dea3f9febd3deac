package sqlitestore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

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
		for _, cfg := range []sqlitestore.Config{{}, {Path: "a?b"}, {Path: "x", MaxReaders: -1}, {Path: "x", CheckpointInterval: -1}} {
			if _, err := sqlitestore.Open(ctx, cfg); err == nil {
				t.Errorf("Open(%+v) succeeded", cfg)
			}
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
