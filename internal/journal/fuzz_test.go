package journal

import (
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// Records are read back from a file that may be damaged: decoding any
// bytes must return a record or an error, never panic, and a decoded
// record must belong to the task its key names.
func FuzzDecodeRecord(f *testing.F) {
	tasks := sampleTasks(1)
	key := make([]byte, keyLen)
	putKey(key, 42, tasks[0].ID)
	f.Add(key, wire.AppendTasks(nil, tasks))
	f.Add(key, wire.AppendResults(nil, resultsFor(tasks)))
	f.Add(key, appendDone(nil, time.Unix(1, 0)))
	f.Add([]byte{1, 2, 3}, []byte{1})
	f.Add(key, []byte{})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		_, id, keyErr := splitKey(k)
		check := func(table string, got funcx.TaskID, err error) {
			if err == nil && (keyErr != nil || got != id) {
				t.Fatalf("%s: decoded a record of task %s under key %x", table, got, k)
			}
			if err != nil && describeKey(k) == "" {
				t.Fatalf("%s: error names no key", table)
			}
		}
		task, err := decodeTask(k, v)
		check("tasks", task.ID, err)
		result, err := decodeResult(k, v)
		check("outbox", result.TaskID, err)
		doneID, _, err := decodeDone(k, v)
		if err == nil {
			check("done", doneID, nil)
		}
	})
}
