package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
)

// load checks the format (initialising a new file), rebuilds the
// in-memory index from the record keys and moves records with a malformed
// key to the quarantine table.
func (j *Journal) load() error {
	err := j.db.Update(func(tx *bbolt.Tx) error {
		if err := checkFormat(tx); err != nil {
			return err
		}
		for _, t := range []struct {
			table []byte
			index *map[funcx.TaskID]uint64
			next  *uint64
		}{
			{tableTasks, &j.idx.pending, &j.idx.nextTask},
			{tableOutbox, &j.idx.outbox, &j.idx.nextOutbox},
			{tableDone, &j.idx.done, &j.idx.nextDone},
		} {
			var bad [][]byte
			*t.index, *t.next, bad = scanKeys(tx.Bucket(t.table))
			if err := j.quarantineKeys(tx, t.table, bad); err != nil {
				return err
			}
		}
		j.idx.quarantined = countQuarantined(tx)
		// Entries that aged out while the endpoint was down.
		_, err := j.evictDone(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("load journal: %w", err)
	}
	return nil
}

// quarantineKeys moves the records of table under malformed keys to the
// quarantine table. Keys are written by this package only, so such a key
// is damage: it names no task, and nothing takes its place.
func (j *Journal) quarantineKeys(tx *bbolt.Tx, table []byte, keys [][]byte) error {
	b := tx.Bucket(table)
	for _, k := range keys {
		if err := moveToQuarantine(tx, table, k, b.Get(k)); err != nil {
			return err
		}
		j.log.Warn("journal record moved to quarantine", "table", string(table), "record", describeKey(k), "why", errBadKey)
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
		for _, name := range [][]byte{tableMeta, tableTasks, tableOutbox, tableDone, tableQuarantine} {
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
	// Files written before the quarantine table existed; older builds
	// ignore it.
	if _, err := tx.CreateBucketIfNotExists(tableQuarantine); err != nil {
		return fmt.Errorf("create table %s: %w", tableQuarantine, err)
	}
	return nil
}

// scanKeys indexes a table by task ID and returns the next free sequence
// and the malformed keys (copied), which index nothing.
func scanKeys(b *bbolt.Bucket) (m map[funcx.TaskID]uint64, next uint64, bad [][]byte) {
	m = make(map[funcx.TaskID]uint64, b.Stats().KeyN)
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		seq, id, err := splitKey(k)
		if err != nil {
			bad = append(bad, bytes.Clone(k))
			continue
		}
		m[id] = seq
		next = seq + 1
	}
	return m, next, bad
}
