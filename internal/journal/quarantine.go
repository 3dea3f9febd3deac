package journal

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// A record that cannot be used (bytes that do not decode, a task the
// endpoint refuses to run) must neither stop the endpoint nor leave its
// task waiting forever. It moves, as it was, to the quarantine table (a
// table per source table, under the record's own key), where it stays for
// inspection; and when its key names a task, a failure result takes its
// place in the outbox, to be published like any other. Each move is
// logged once, as the record leaves its table.

// tableQuarantine holds one table per source table ("tasks", "outbox",
// "done") of the records moved out of it, verbatim, under their keys.
var tableQuarantine = []byte("quarantine")

// quarantineItem is one record to move to the quarantine table.
type quarantineItem struct {
	table  []byte // the record's table
	key    []byte
	reason string
	// result, if set, is the encoded failure result that enters the
	// outbox in the record's place (if its task has no other result).
	result []byte
}

// QuarantineTasks ends journaled tasks that will not run (records that
// decode to a task the endpoint refuses): in one transaction, each task's
// record moves to the quarantine table and its result in failures, which
// should say why, enters the outbox to be published like any result.
// Failures of tasks that are not pending are ignored. It returns once the
// change is durable.
func (j *Journal) QuarantineTasks(ctx context.Context, failures []funcx.Result) error {
	if len(failures) == 0 {
		return nil
	}
	items := make([]quarantineItem, 0, len(failures))
	j.idxMu.RLock()
	for i := range failures {
		f := &failures[i]
		seq, ok := j.idx.pending[f.TaskID]
		if !ok {
			continue
		}
		key := make([]byte, keyLen)
		putKey(key, seq, f.TaskID)
		reason := "refused by the endpoint"
		if f.Error != nil {
			reason = f.Error.Message
		}
		items = append(items, quarantineItem{table: tableTasks, key: key, reason: reason,
			result: wire.AppendResults(nil, failures[i:i+1])})
	}
	j.idxMu.RUnlock()
	if err := j.quarantine(ctx, items); err != nil {
		return fmt.Errorf("quarantine %d tasks: %w", len(items), err)
	}
	return nil
}

// quarantineBad moves records a read could not decode to the quarantine
// table, a failure result in the place of each (the failure of its task,
// whose record or result is lost).
func (j *Journal) quarantineBad(bad []*RecordError) error {
	items := make([]quarantineItem, len(bad))
	for i, re := range bad {
		items[i] = quarantineItem{table: []byte(re.Table), key: re.Key, reason: re.Err.Error()}
		if _, id, err := splitKey(re.Key); err == nil {
			r := corruptResult(id, re, j.opts.Clock())
			items[i].result = wire.AppendResults(nil, []funcx.Result{r})
		}
	}
	// Not the caller's context: reads take none, and the move is one
	// short commit.
	return j.quarantine(context.Background(), items)
}

// corruptResult is the failure of a task whose journal record (its task
// or its result) cannot be decoded.
func corruptResult(id funcx.TaskID, re *RecordError, now time.Time) funcx.Result {
	what, lost := "this task", "the task was not run"
	if re.Table == string(tableOutbox) {
		what, lost = "this task's result", "the result is lost"
	}
	err := funcx.Errorf(funcx.InternalError,
		"the endpoint's journal record of %s is corrupt (%v): %s; the record was moved to the journal's quarantine table",
		what, re.Err, lost)
	return funcx.FailedResult(&funcx.Task{ID: id}, err, now)
}

func (j *Journal) quarantine(ctx context.Context, items []quarantineItem) error {
	if len(items) == 0 {
		return nil
	}
	return j.do(ctx, &request{op: opQuarantine, quarantine: items})
}

// putQuarantine moves the request's records to the quarantine table, in
// the committer, and puts their failure results in the outbox.
func (j *Journal) putQuarantine(w *writer, r *request) error {
	x := &j.idx
	for _, it := range r.quarantine {
		b := w.tx.Bucket(it.table)
		v := b.Get(it.key)
		if v == nil {
			continue // moved already, or its task got its result meanwhile
		}
		if err := moveToQuarantine(w.tx, it.table, it.key, v); err != nil {
			return err
		}
		x.quarantined++
		j.log.Warn("journal record moved to quarantine", "table", string(it.table), "record", describeKey(it.key), "why", it.reason)
		seq, id, err := splitKey(it.key)
		if err != nil {
			continue
		}
		// The index entry that points at this record, if any.
		if s, ok := x.pending[id]; ok && s == seq && bytes.Equal(it.table, tableTasks) {
			delete(x.pending, id)
		}
		if s, ok := x.outbox[id]; ok && s == seq && bytes.Equal(it.table, tableOutbox) {
			delete(x.outbox, id)
		}
		if it.result == nil || j.known(id) {
			continue
		}
		oseq := x.nextOutbox
		if err := w.outbox.Put(w.key(oseq, id), it.result); err != nil {
			return fmt.Errorf("put failure of task %s: %w", id, err)
		}
		x.nextOutbox++
		x.outbox[id] = oseq
	}
	return nil
}

// moveToQuarantine moves the record at key of table into the quarantine
// table, as it is.
func moveToQuarantine(tx *bbolt.Tx, table, key, val []byte) error {
	q, err := tx.Bucket(tableQuarantine).CreateBucketIfNotExists(table)
	if err != nil {
		return fmt.Errorf("quarantine table %s: %w", table, err)
	}
	// Copies: bbolt's memory is valid only until the record is deleted.
	key, val = bytes.Clone(key), bytes.Clone(val)
	if err := q.Put(key, val); err != nil {
		return fmt.Errorf("quarantine record %s/%s: %w", table, describeKey(key), err)
	}
	if err := tx.Bucket(table).Delete(key); err != nil {
		return fmt.Errorf("remove quarantined record %s/%s: %w", table, describeKey(key), err)
	}
	return nil
}

// countQuarantined returns how many records the quarantine table holds.
func countQuarantined(tx *bbolt.Tx) int {
	// Counted key by key: Stats ignores what the open transaction wrote.
	n := 0
	q := tx.Bucket(tableQuarantine)
	_ = q.ForEachBucket(func(name []byte) error {
		return q.Bucket(name).ForEach(func(_, _ []byte) error { n++; return nil })
	})
	return n
}
