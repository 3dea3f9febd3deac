package endpoint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/journal"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/service/api"
)

// A journal.db damaged while the endpoint was down: one task record's
// bytes flipped, one record holding a task that cannot run, one result in
// the outbox flipped. The endpoint still starts; the good tasks run; each
// bad one fails alone with a result saying why, published like any other;
// and the bad records wait in the journal's quarantine table.
func TestReplayQuarantinesBadRecords(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fn, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "shell", Script: "echo {i}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	const (
		good      = 3 // tasks 0, 1, 2
		invalid   = 3 // its function is made one the engine refuses
		flipped   = 4 // its record's bytes are flipped
		lostEarly = 5 // its result is in the outbox, and flipped there
		n         = 6
	)
	inputs := make([]any, n)
	for i := range inputs {
		inputs[i] = map[string]int{"i": i}
	}
	futures, err := ex.Map(ctx, fn, inputs)
	if err != nil {
		t.Fatal(err)
	}

	// An endpoint took the tasks, journaled them and died: they are acked
	// and only the journal holds them.
	path := filepath.Join(t.TempDir(), "journal.db")
	tasks := journalTasks(ctx, t, f, path, futures, invalid, func(j *journal.Journal, byIndex []funcx.Task) {
		if _, err := j.AddResults(ctx, []funcx.Result{{TaskID: byIndex[lostEarly].ID, State: funcx.StateSuccess,
			Stdout: []byte("never published\n"), Worker: -1}}); err != nil {
			t.Fatal(err)
		}
	})
	badTask := flipRecord(t, path, "tasks", tasks[flipped].ID, func(v []byte) error { _, err := wire.DecodeTasks(v); return err })
	badResult := flipRecord(t, path, "outbox", tasks[lostEarly].ID, func(v []byte) error { _, err := wire.DecodeResults(v); return err })

	stop := f.runEndpoint(t, path)
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		var te *funcx.TaskError
		switch i {
		case invalid:
			if !errors.As(err, &te) || te.Kind != funcx.InvalidTask || !strings.Contains(te.Message, "journal record of this task holds a task that cannot run") {
				t.Errorf("task with an invalid record: %v, want InvalidTask naming the journal record", err)
			}
		case flipped:
			if !errors.As(err, &te) || te.Kind != funcx.InternalError || !strings.Contains(te.Message, "journal record of this task is corrupt") {
				t.Errorf("task with a flipped record: %v, want InternalError saying the record is corrupt", err)
			}
		case lostEarly:
			if !errors.As(err, &te) || te.Kind != funcx.InternalError || !strings.Contains(te.Message, "result is lost") {
				t.Errorf("task with a flipped result: %v, want InternalError saying the result is lost", err)
			}
		default:
			if err != nil {
				t.Fatalf("good task %d: %v", i, err)
			}
			if got := string(r.Stdout()); got != fmt.Sprintf("%d\n", i) {
				t.Errorf("good task %d: %q", i, got)
			}
		}
	}
	// The endpoint's status counts the damage (from its heartbeats).
	for {
		ep, err := f.cl.EndpointStatus(ctx, f.endpointID)
		if err != nil {
			t.Fatal(err)
		}
		if ep.QuarantinedRecords == 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("endpoint status shows %d quarantined records, want 3", ep.QuarantinedRecords)
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()

	// Nothing is left waiting, and the quarantine holds the bad records
	// as they were.
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pending, perr := j.PendingTasks()
	outbox, oerr := j.Outbox(0)
	st := j.Stats()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if perr != nil || oerr != nil || len(pending) > 0 || len(outbox) > 0 {
		t.Errorf("journal after the run: %d pending (%v), %d in the outbox (%v)", len(pending), perr, len(outbox), oerr)
	}
	if st.Quarantined != 3 {
		t.Errorf("Stats.Quarantined = %d, want 3", st.Quarantined)
	}
	quarantined := quarantineOf(t, path)
	for _, want := range []struct {
		table string
		id    funcx.TaskID
		val   []byte // nil: any
	}{{"tasks", tasks[flipped].ID, badTask}, {"tasks", tasks[invalid].ID, nil}, {"outbox", tasks[lostEarly].ID, badResult}} {
		got, ok := quarantined[want.table][want.id]
		if !ok || (want.val != nil && !bytes.Equal(got, want.val)) {
			t.Errorf("quarantine/%s: record of task %s missing or changed", want.table, want.id)
		}
	}
}

// journalTasks takes the tasks of futures from the endpoint's queue as
// the endpoint does (journaled, then acked), the task at index invalid
// given a function the engine refuses, lets more write to the journal,
// and returns the tasks in the order of futures.
func journalTasks(ctx context.Context, t *testing.T, f *fabric, path string, futures []*client.Future, invalid int,
	more func(*journal.Journal, []funcx.Task)) []funcx.Task {
	t.Helper()
	index := map[string]int{}
	for i, fu := range futures {
		index[fu.TaskID()] = i
	}
	conn, err := f.dial(ctx, f.creds)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	byIndex := make([]funcx.Task, len(futures))
	for got := 0; got < len(futures); {
		var d broker.Delivery
		select {
		case d = <-conn.Deliveries():
		case <-ctx.Done():
			t.Fatalf("%d of %d tasks delivered", got, len(futures))
		}
		for i := range d.Tasks {
			tk := d.Tasks[i]
			if index[tk.ID.String()] == invalid {
				tk.Function.Kind = 99 // no such kind
			}
			byIndex[index[tk.ID.String()]] = tk
			if _, err := j.AddTasks(ctx, []funcx.Task{tk}); err != nil {
				t.Fatal(err)
			}
			got++
		}
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	more(j, byIndex)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return byIndex
}

// flipRecord inverts every byte of the record of task id in table, checks
// with decode that it no longer decodes, and returns the bytes stored.
func flipRecord(t *testing.T, path, table string, id funcx.TaskID, decode func([]byte) error) []byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var flipped []byte
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(table))
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if !bytes.Equal(k[8:], id[:]) {
				continue
			}
			flipped = bytes.Clone(v)
			for i := range flipped {
				flipped[i] ^= 0xff
			}
			if decode(bytes.Clone(flipped)) == nil {
				return errors.New("the flipped record still decodes")
			}
			return b.Put(bytes.Clone(k), flipped)
		}
		return fmt.Errorf("no record of task %s in %s", id, table)
	})
	if err != nil {
		t.Fatal(err)
	}
	return flipped
}

// quarantineOf returns the journal's quarantined records by source table
// and task.
func quarantineOf(t *testing.T, path string) map[string]map[funcx.TaskID][]byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]map[funcx.TaskID][]byte{}
	err = db.View(func(tx *bbolt.Tx) error {
		q := tx.Bucket([]byte("quarantine"))
		if q == nil {
			return errors.New("no quarantine table")
		}
		return q.ForEachBucket(func(table []byte) error {
			m := map[funcx.TaskID][]byte{}
			out[string(table)] = m
			return q.Bucket(table).ForEach(func(k, v []byte) error {
				var id funcx.TaskID
				copy(id[:], k[8:])
				m[id] = bytes.Clone(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
