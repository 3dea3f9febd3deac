package journal

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
)

// load checks the format (initialising a new file) and rebuilds the
// in-memory index from the record keys.
func (j *Journal) load() error {
	err := j.db.Update(func(tx *bbolt.Tx) error {
		if err := checkFormat(tx); err != nil {
			return err
		}
		var err error
		if j.idx.pending, j.idx.nextTask, err = scanKeys(tx.Bucket(tableTasks), string(tableTasks)); err != nil {
			return err
		}
		if j.idx.outbox, j.idx.nextOutbox, err = scanKeys(tx.Bucket(tableOutbox), string(tableOutbox)); err != nil {
			return err
		}
		if j.idx.done, j.idx.nextDone, err = scanKeys(tx.Bucket(tableDone), string(tableDone)); err != nil {
			return err
		}
		// Entries that aged out while the endpoint was down.
		_, err = j.evictDone(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("load journal: %w", err)
	}
	return nil
}

// checkFormat creates the tables of an empty file, or verifies that an
// existing file is a journal of a version this build reads.
func checkFormat(tx *bbolt.Tx) error {
	meta := tx.Bucket(tableMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bbolt.Bucket) error { empty = false; return nil })
		if !empty {
			return fmt.Errorf("%w: the file has tables but no format version; it is not a journal", ErrFormat)
		}
		for _, name := range [][]byte{tableMeta, tableTasks, tableOutbox, tableDone} {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("create table %s: %w", name, err)
			}
		}
		return tx.Bucket(tableMeta).Put(metaFormat, binary.BigEndian.AppendUint32(nil, formatVersion))
	}
	v := meta.Get(metaFormat)
	if len(v) != 4 {
		return fmt.Errorf("%w: format version record is %d bytes, not 4", ErrFormat, len(v))
	}
	if got := binary.BigEndian.Uint32(v); got != formatVersion {
		return fmt.Errorf("%w: format version %d is unknown (this build reads version %d)", ErrFormat, got, formatVersion)
	}
	for _, name := range [][]byte{tableTasks, tableOutbox, tableDone} {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: table %s is missing", ErrFormat, name)
		}
	}
	return nil
}

// scanKeys indexes a table by task ID and returns the next free sequence.
// A malformed key means the file itself is damaged (keys are written by
// this package only), so it fails the open rather than being skipped.
func scanKeys(b *bbolt.Bucket, table string) (map[funcx.TaskID]uint64, uint64, error) {
	m := make(map[funcx.TaskID]uint64, b.Stats().KeyN)
	var next uint64
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		seq, id, err := splitKey(k)
		if err != nil {
			return nil, 0, &RecordError{Table: table, Key: append([]byte(nil), k...), Err: err}
		}
		m[id] = seq
		next = seq + 1
	}
	return m, next, nil
}
