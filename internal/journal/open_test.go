package journal

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("second open of a journal in use fails fast", func(t *testing.T) {
		t.Parallel()
		_, path := setup(t, Options{})
		start := time.Now()
		_, err := Open(path, Options{Timeout: 100 * time.Millisecond})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("err = %v, want ErrLocked", err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error %q does not name the file", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("second open took %s", d)
		}
		t.Log(err)
	})

	t.Run("unknown format version", func(t *testing.T) {
		t.Parallel()
		j, path := setup(t, Options{})
		_ = j.Close()
		rawUpdate(t, path, func(tx *bbolt.Tx) error {
			return tx.Bucket(tableMeta).Put(metaFormat, binary.BigEndian.AppendUint32(nil, 7))
		})
		_, err := Open(path, Options{})
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "version 7 is unknown") || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrFormat naming version 7 and the file", err)
		}
		t.Log(err)
	})

	t.Run("a bbolt file that is not a journal", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "other.db")
		rawUpdate(t, path, func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucket([]byte("something"))
			return err
		})
		if _, err := Open(path, Options{}); !errors.Is(err, ErrFormat) {
			t.Fatalf("err = %v, want ErrFormat", err)
		}
	})

	t.Run("a file that is not a database", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "journal.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want an error naming the file", err)
		}
		t.Log(err)
	})

	t.Run("invalid options name the field", func(t *testing.T) {
		t.Parallel()
		_, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{MaxBatch: -1, DoneTTL: -time.Second})
		if err == nil || !strings.Contains(err.Error(), "MaxBatch") || !strings.Contains(err.Error(), "DoneTTL") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("close is idempotent", func(t *testing.T) {
		t.Parallel()
		j, _ := setup(t, Options{})
		for range 3 {
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// rawUpdate edits a closed journal file with bbolt directly.
func rawUpdate(t *testing.T, path string, fn func(*bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}
