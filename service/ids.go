package service

import (
	"github.com/google/uuid"

	"github.com/funcx-go/funcx"
)

// parseID parses a UUID given by a client, in any form uuid accepts, and
// returns it canonical (lower case, hyphenated) so that the store sees one
// spelling of each ID.
func parseID(what, v string) (string, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		return "", badRequest("%s %q is not a UUID", what, v)
	}
	return id.String(), nil
}

// newTaskID returns an ID for a task submitted without one: a version 7
// UUID (48 bits of milliseconds, then 74 random bits), like the SDK's.
// Stores index tasks by ID, and IDs that grow with time are appended to
// that index instead of rewriting a page of it per task.
func newTaskID() funcx.TaskID {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing random source; a random ID serves as well.
		return funcx.NewTaskID()
	}
	return id
}
