package funcx

import (
	"fmt"

	"github.com/google/uuid"
)

// TaskID identifies one task everywhere: in the service, the broker, the
// endpoint's journal and on the wire. It is a random (version 4) UUID.
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
