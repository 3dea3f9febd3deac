package client

import (
	"github.com/google/uuid"

	"github.com/funcx-go/funcx"
)

// newTaskID returns a fresh task ID: a version 7 UUID, whose first 48
// bits are the time in milliseconds and whose other 74 are random. The
// service keys its task index by ID; IDs that grow with time land at the
// end of that index, so a submission of 1,000 tasks rewrites a few of
// its pages instead of one per task (random version 4 IDs spread over
// the whole index: megabytes of write-ahead log per submission once it
// holds a few hundred thousand tasks, and a sixth of the bench process's
// CPU per task in the end-to-end benchmark).
func newTaskID() funcx.TaskID {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source; a random ID serves as well.
		return funcx.NewTaskID()
	}
	return id
}
