package sqlitestore_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// wantModes checks that the database and its -wal and -shm files exist
// and are readable and writable by their owner only.
func wantModes(t *testing.T, path string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Fatalf("%s: %v", suffix, err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %s, want -rw-------", filepath.Base(path+suffix), m)
		}
	}
}

// TestFileModes: the database holds every tenant's output, so it and
// the files SQLite keeps beside it are created 0600, whatever the umask,
// and an existing database readable by others is tightened at Open.
func TestFileModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	write := func(t *testing.T, st *sqlitestore.Store, id string) {
		t.Helper()
		rec := service.IdentityRecord{Identity: service.Identity{ID: id, Name: id, ClientID: "c" + id}, SecretHash: []byte{1}}
		if err := st.CreateIdentity(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("created 0600", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "s.db")
		st := open(t, path)
		wantModes(t, path)
		write(t, st, "a")
		wantModes(t, path)
	})

	t.Run("existing files tightened and logged", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "s.db")
		st := open(t, path)
		write(t, st, "a")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Chmod(path+suffix, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var logs bytes.Buffer
		st2, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st2.Close() })
		wantModes(t, path)
		write(t, st2, "b")
		wantModes(t, path)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if !strings.Contains(logs.String(), "file="+path+suffix+" ") {
				t.Errorf("no log line for %s in:\n%s", path+suffix, logs.String())
			}
		}
		st.Close()
	})
}
