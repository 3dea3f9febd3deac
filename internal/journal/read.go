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
// A record that cannot be decoded does not stop the read: PendingTasks
// returns every task it could decode together with an error that wraps
// a *RecordError naming each bad record.
func (j *Journal) PendingTasks() ([]funcx.Task, error) {
	var tasks []funcx.Task
	err := j.read(tableTasks, 0, func(k, v []byte) error {
		t, err := decodeTask(k, v)
		if err == nil {
			tasks = append(tasks, t)
		}
		return err
	})
	if err != nil {
		return tasks, fmt.Errorf("read pending tasks: %w", err)
	}
	return tasks, nil
}

// Outbox returns up to limit results waiting for the broker's confirm,
// oldest first; limit <= 0 returns them all. A result stays in the outbox
// until Confirm, so calling Outbox again returns it again. Bad records
// are reported as by PendingTasks.
func (j *Journal) Outbox(limit int) ([]funcx.Result, error) {
	var results []funcx.Result
	err := j.read(tableOutbox, limit, func(k, v []byte) error {
		r, err := decodeResult(k, v)
		if err == nil {
			results = append(results, r)
		}
		return err
	})
	if err != nil {
		return results, fmt.Errorf("read outbox: %w", err)
	}
	return results, nil
}

// read calls fn on up to limit records of table (all if limit <= 0) in
// one read transaction, collecting fn's errors rather than stopping.
func (j *Journal) read(table []byte, limit int, fn func(k, v []byte) error) error {
	// Holding mu shared keeps Close from closing the file mid-read.
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		return ErrClosed
	}
	var errs []error
	err := j.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(table).Cursor()
		n := 0
		for k, v := c.First(); k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
			if err := fn(k, v); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}
