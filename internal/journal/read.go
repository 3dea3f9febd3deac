package journal

import (
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
)

// Known reports whether the journal holds id: as a task without a
// result, as a result in the outbox, or in the recently-done set; a
// delivery of such a task is a redelivery. It does not wait for a
// commit: a task whose AddTasks is committing at the time counts as
// known.
func (j *Journal) Known(id funcx.TaskID) bool {
	j.idxMu.RLock()
	defer j.idxMu.RUnlock()
	return j.known(id)
}

// PendingTasks returns the journaled tasks that have no result, in the
// order they were journaled: after a restart, what to dispatch again.
//
// A record that cannot be decoded does not stop the read, nor is it
// returned: it moves to the quarantine table and the failure of its task
// (InternalError, saying the record was corrupt) enters the outbox, so
// that the task's submitter learns of it (see QuarantineTasks).
func (j *Journal) PendingTasks() ([]funcx.Task, error) {
	var tasks []funcx.Task
	bad, err := j.read(tableTasks, 0, func(k, v []byte) error {
		t, err := decodeTask(k, v)
		if err == nil {
			tasks = append(tasks, t)
		}
		return err
	})
	if err == nil && len(bad) > 0 {
		err = j.quarantineBad(bad)
	}
	if err != nil {
		return tasks, fmt.Errorf("read pending tasks: %w", err)
	}
	return tasks, nil
}

// Outbox returns up to limit results waiting for the broker's confirm,
// oldest first; limit <= 0 returns them all. A result stays in the outbox
// until Confirm, so calling Outbox again returns it again. A record that
// cannot be decoded moves to the quarantine table, and the failure of its
// task (InternalError: the result is lost) takes its place at the end of
// the outbox, so that the publishing of the others goes on.
func (j *Journal) Outbox(limit int) ([]funcx.Result, error) {
	var results []funcx.Result
	collect := func(k, v []byte) error {
		r, err := decodeResult(k, v)
		if err == nil {
			results = append(results, r)
		}
		return err
	}
	bad, err := j.read(tableOutbox, limit, collect)
	if err == nil && len(bad) > 0 {
		// Read again, to return the failures with the others.
		if err = j.quarantineBad(bad); err == nil {
			results = results[:0]
			bad, err = j.read(tableOutbox, limit, collect)
		}
	}
	if err == nil && len(bad) > 0 {
		err = errors.Join(asErrors(bad)...)
	}
	if err != nil {
		return results, fmt.Errorf("read outbox: %w", err)
	}
	return results, nil
}

// read calls fn on up to limit records of table (all if limit <= 0) in
// one read transaction. It returns the records fn could not decode rather
// than stop at them; err is an error of the read itself.
func (j *Journal) read(table []byte, limit int, fn func(k, v []byte) error) (bad []*RecordError, err error) {
	// Holding mu shared keeps Close from closing the file mid-read.
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		return nil, ErrClosed
	}
	err = j.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(table).Cursor()
		n := 0
		for k, v := c.First(); k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
			if err := fn(k, v); err != nil {
				var re *RecordError
				if !errors.As(err, &re) {
					return err
				}
				bad = append(bad, re)
				continue
			}
			n++
		}
		return nil
	})
	return bad, err
}

func asErrors(bad []*RecordError) []error {
	errs := make([]error, len(bad))
	for i, re := range bad {
		errs[i] = re
	}
	return errs
}
