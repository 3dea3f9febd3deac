package funcx

import (
	"fmt"

	"github.com/google/uuid"
)

// TaskID identifies one task everywhere: in the service, the broker, the
// endpoint's journal and on the wire. NewTaskID makes random (version 4)
// UUIDs; the SDK and the service make time-ordered (version 7) ones, which
// their task index takes more cheaply. Any UUID is a valid task ID.
type TaskID = uuid.UUID

// NewTaskID returns a fresh random task ID.
func NewTaskID() TaskID { return uuid.New() }

// ParseTaskID parses the canonical textual form of a task ID.
func ParseTaskID(s string) (TaskID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return TaskID{}, fmt.Errorf("parse task id %q: %w", s, err)
	}
	return id, nil
}
