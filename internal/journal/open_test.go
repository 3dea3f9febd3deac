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

// A damaged record is reported by name; the others are still read and
// the journal keeps working.
func TestCorruptRecord(t *testing.T) {
	t.Parallel()
	j, path := setup(t, Options{})
	tasks := sampleTasks(4)
	mustAddTasks(t, j, tasks)
	mustAddResults(t, j, resultsFor(tasks[:2]))
	_ = j.Close()

	var badTask, badResult []byte
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(tableTasks).Cursor().First()
		badTask = append([]byte(nil), k...)
		if err := tx.Bucket(tableTasks).Put(badTask, []byte{1, 2, 3}); err != nil {
			return err
		}
		k, v := tx.Bucket(tableOutbox).Cursor().Last()
		badResult = append([]byte(nil), k...)
		return tx.Bucket(tableOutbox).Put(badResult, v[:len(v)-1])
	})

	j = openAt(t, path, Options{})
	pending, err := j.PendingTasks()
	var re *RecordError
	if !errors.As(err, &re) || re.Table != "tasks" || !strings.Contains(err.Error(), describeKey(badTask)) {
		t.Fatalf("err = %v, want a RecordError naming %s", err, describeKey(badTask))
	}
	if len(pending) != 1 || pending[0].ID != tasks[3].ID {
		t.Fatalf("pending = %v, want the one good task", taskIDs(pending))
	}
	t.Log(err)
	outbox, err := j.Outbox(0)
	if !errors.As(err, &re) || re.Table != "outbox" || !strings.Contains(err.Error(), describeKey(badResult)) {
		t.Fatalf("err = %v, want a RecordError naming %s", err, describeKey(badResult))
	}
	if len(outbox) != 1 || outbox[0].TaskID != tasks[0].ID {
		t.Fatalf("outbox = %v, want the one good result", resultIDs(outbox))
	}
	// Writes go on: the damaged task can still get its result.
	if n := mustAddResults(t, j, resultsFor(tasks[2:])); n != 2 {
		t.Fatalf("stored %d, want 2", n)
	}
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
