package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// formatVersion is the layout below. Bump it on any incompatible change;
// Open refuses versions it does not know rather than misreading them.
const formatVersion = 1

// Tables (bbolt buckets). Every record table is keyed by an 8-byte
// big-endian sequence followed by the 16-byte task ID: the sequence makes
// every insert an append at the right edge of the B+tree, so a commit
// dirties a handful of pages instead of one page per random UUID, and
// keeps arrival order for re-dispatch and re-publishing. The ID in the key
// lets Open rebuild the in-memory index from keys alone.
var (
	tableMeta   = []byte("meta")
	tableTasks  = []byte("tasks")  // task record: wire.AppendTasks of one task
	tableOutbox = []byte("outbox") // result record: wire.AppendResults of one result
	tableDone   = []byte("done")   // confirmation time, 8-byte big-endian Unix nanoseconds

	metaFormat = []byte("format") // 4-byte big-endian formatVersion
)

const keyLen = 8 + 16

// putKey writes the key of (seq, id) into dst, which must hold keyLen bytes.
func putKey(dst []byte, seq uint64, id funcx.TaskID) {
	binary.BigEndian.PutUint64(dst, seq)
	copy(dst[8:], id[:])
}

var errBadKey = errors.New("key is not 24 bytes")

func splitKey(k []byte) (seq uint64, id funcx.TaskID, err error) {
	if len(k) != keyLen {
		return 0, id, errBadKey
	}
	copy(id[:], k[8:])
	return binary.BigEndian.Uint64(k), id, nil
}

// describeKey prints a key for error messages: "seq 42 task <uuid>", or
// its bytes when it is not a well-formed key.
func describeKey(k []byte) string {
	seq, id, err := splitKey(k)
	if err != nil {
		return fmt.Sprintf("key %x (%d bytes)", k, len(k))
	}
	return fmt.Sprintf("seq %d task %s", seq, id)
}

// decodeTask decodes a task record. The record is copied first: bbolt's
// memory is valid only inside the transaction and wire decoders alias
// their input.
func decodeTask(key, val []byte) (funcx.Task, error) {
	_, id, err := splitKey(key)
	if err != nil {
		return funcx.Task{}, &RecordError{Table: string(tableTasks), Key: bytes.Clone(key), Err: err}
	}
	tasks, err := wire.DecodeTasks(bytes.Clone(val))
	if err == nil && len(tasks) != 1 {
		err = fmt.Errorf("holds %d tasks, not 1", len(tasks))
	}
	if err == nil && tasks[0].ID != id {
		err = fmt.Errorf("holds task %s", tasks[0].ID)
	}
	if err != nil {
		return funcx.Task{}, &RecordError{Table: string(tableTasks), Key: bytes.Clone(key), Err: err}
	}
	return tasks[0], nil
}

// decodeResult decodes an outbox record; see decodeTask.
func decodeResult(key, val []byte) (funcx.Result, error) {
	_, id, err := splitKey(key)
	if err != nil {
		return funcx.Result{}, &RecordError{Table: string(tableOutbox), Key: bytes.Clone(key), Err: err}
	}
	results, err := wire.DecodeResults(bytes.Clone(val))
	if err == nil && len(results) != 1 {
		err = fmt.Errorf("holds %d results, not 1", len(results))
	}
	if err == nil && results[0].TaskID != id {
		err = fmt.Errorf("holds the result of task %s", results[0].TaskID)
	}
	if err != nil {
		return funcx.Result{}, &RecordError{Table: string(tableOutbox), Key: bytes.Clone(key), Err: err}
	}
	return results[0], nil
}

func appendDone(b []byte, at time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
}

func decodeDone(key, val []byte) (funcx.TaskID, time.Time, error) {
	_, id, err := splitKey(key)
	if err == nil && len(val) != 8 {
		err = fmt.Errorf("value is %d bytes, not 8", len(val))
	}
	if err != nil {
		return id, time.Time{}, &RecordError{Table: string(tableDone), Key: bytes.Clone(key), Err: err}
	}
	return id, time.Unix(0, int64(binary.BigEndian.Uint64(val))), nil
}
