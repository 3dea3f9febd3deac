package journal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
)

// A record that does not decode stops neither the read nor the journal:
// it moves to the quarantine table, as it was, logged once, and the
// failure of its task takes its place in the outbox; the others are read.
func TestCorruptRecord(t *testing.T) {
	t.Parallel()
	// Written by the committer before it answers a call, read after.
	log := &bytes.Buffer{}
	j, path := setup(t, Options{})
	tasks := sampleTasks(4)
	mustAddTasks(t, j, tasks)
	mustAddResults(t, j, resultsFor(tasks[:2]))
	_ = j.Close()

	// The oldest task (tasks[2]) and the newest result (tasks[1]'s).
	var badTask, badResult []byte
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(tableTasks).Cursor().First()
		badTask = bytes.Clone(k)
		if err := tx.Bucket(tableTasks).Put(badTask, []byte{1, 2, 3}); err != nil {
			return err
		}
		k, v := tx.Bucket(tableOutbox).Cursor().Last()
		badResult = bytes.Clone(k)
		return tx.Bucket(tableOutbox).Put(badResult, bytes.Clone(v[:len(v)-1]))
	})

	j = openAt(t, path, Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	for range 2 { // the second read meets nothing bad
		pending := mustPending(t, j)
		if len(pending) != 1 || pending[0].ID != tasks[3].ID {
			t.Fatalf("pending = %v, want the one good task", taskIDs(pending))
		}
	}
	outbox := mustOutbox(t, j)
	want := []funcx.TaskID{tasks[0].ID, tasks[2].ID, tasks[1].ID}
	if !sameIDs(resultIDs(outbox), want) {
		t.Fatalf("outbox = %v, want the good result, then the failures of the bad task and of the bad result %v", resultIDs(outbox), want)
	}
	for i, what := range []string{"this task is corrupt", "this task's result is corrupt"} {
		r := outbox[i+1]
		if r.State != funcx.StateFailed || r.Error == nil || r.Error.Kind != funcx.InternalError || !strings.Contains(r.Error.Message, what) {
			t.Errorf("failure %d: %+v, want InternalError saying %q", i, r.Error, what)
		}
	}
	mustOutbox(t, j)
	if n := strings.Count(log.String(), "moved to quarantine"); n != 2 {
		t.Errorf("%d quarantine messages, want one per bad record:\n%s", n, log)
	}
	for _, key := range [][]byte{badTask, badResult} {
		if !strings.Contains(log.String(), describeKey(key)) {
			t.Errorf("the log does not name %s:\n%s", describeKey(key), log)
		}
	}
	if q := j.Stats().Quarantined; q != 2 {
		t.Errorf("Stats.Quarantined = %d, want 2", q)
	}

	// Writes go on; the failed task has its result already.
	if n := mustAddResults(t, j, resultsFor(tasks[2:])); n != 1 {
		t.Fatalf("stored %d, want 1 (tasks[3]'s)", n)
	}
	mustConfirm(t, j, resultIDs(mustOutbox(t, j)))
	_ = j.Close()

	j = openAt(t, path, Options{})
	if q := j.Stats().Quarantined; q != 2 {
		t.Errorf("after a reopen: Stats.Quarantined = %d, want 2", q)
	}
	_ = j.Close()
	q := quarantined(t, path)
	if !bytes.Equal(q["tasks"][string(badTask)], []byte{1, 2, 3}) || q["outbox"][string(badResult)] == nil {
		t.Errorf("quarantine holds %v, want the two bad records as they were", q)
	}
}

// A record under a malformed key (24 bytes are written, always) names no
// task: Open moves it to the quarantine table rather than fail.
func TestMalformedKey(t *testing.T) {
	t.Parallel()
	j, path := setup(t, Options{})
	tasks := sampleTasks(2)
	mustAddTasks(t, j, tasks)
	_ = j.Close()
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		return tx.Bucket(tableTasks).Put([]byte("short"), []byte("x"))
	})

	j = openAt(t, path, Options{})
	if got := mustPending(t, j); !sameIDs(taskIDs(got), taskIDs(tasks)) {
		t.Fatalf("pending = %v, want the good tasks", taskIDs(got))
	}
	if len(mustOutbox(t, j)) != 0 {
		t.Fatal("a failure for a record that names no task")
	}
	if q := j.Stats().Quarantined; q != 1 {
		t.Fatalf("Stats.Quarantined = %d, want 1", q)
	}
	_ = j.Close()
	if v := quarantined(t, path)["tasks"]["short"]; string(v) != "x" {
		t.Fatalf("quarantined record = %q", v)
	}
}

// QuarantineTasks fails tasks the endpoint will not run: the record moves
// to the quarantine table and the given failure enters the outbox, in one
// commit; tasks that are not pending are left alone.
func TestQuarantineTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, path := setup(t, Options{})
	tasks := sampleTasks(3)
	mustAddTasks(t, j, tasks)
	mustAddResults(t, j, resultsFor(tasks[2:]))
	failure := func(tk funcx.Task) funcx.Result {
		return funcx.FailedResult(&tk, funcx.Errorf(funcx.InvalidTask, "cannot run"), tk.Received)
	}
	if err := j.QuarantineTasks(ctx, []funcx.Result{failure(tasks[0]), failure(tasks[2]), failure(sampleTasks(1)[0])}); err != nil {
		t.Fatal(err)
	}
	if got := mustPending(t, j); !sameIDs(taskIDs(got), taskIDs(tasks[1:2])) {
		t.Fatalf("pending = %v, want tasks[1] only", taskIDs(got))
	}
	outbox := mustOutbox(t, j)
	if !sameIDs(resultIDs(outbox), []funcx.TaskID{tasks[2].ID, tasks[0].ID}) || outbox[0].State != funcx.StateSuccess ||
		outbox[1].Error == nil || outbox[1].Error.Kind != funcx.InvalidTask {
		t.Fatalf("outbox = %+v, want tasks[2]'s result, then tasks[0]'s failure", outbox)
	}
	if !j.Known(tasks[0].ID) {
		t.Fatal("a failed task is no longer known: a redelivery would run it")
	}
	if q := j.Stats().Quarantined; q != 1 {
		t.Fatalf("Stats.Quarantined = %d, want 1", q)
	}
	_ = j.Close()
	if len(quarantined(t, path)["tasks"]) != 1 {
		t.Fatalf("quarantine = %v", quarantined(t, path))
	}
}

// quarantined returns the quarantine table of a closed journal: records by
// source table and key.
func quarantined(t *testing.T, path string) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		q := tx.Bucket(tableQuarantine)
		return q.ForEachBucket(func(table []byte) error {
			m := map[string][]byte{}
			out[string(table)] = m
			return q.Bucket(table).ForEach(func(k, v []byte) error {
				m[string(k)] = bytes.Clone(v)
				return nil
			})
		})
	})
	return out
}
