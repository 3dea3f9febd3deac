package service

import (
	"github.com/google/uuid"

	"github.com/funcx-go/funcx"
)

// parseID parses a UUID given by a client, in any form uuid accepts, and
// returns it canonical (lower case, hyphenated) so that the store sees one
// spelling of each ID.
func parseID(what, v string) (string, error) {
	id, err := parseUUID(what, v)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// parseTaskID parses a task ID given by a client.
func parseTaskID(what, v string) (funcx.TaskID, error) { return parseUUID(what, v) }

// parseUUID parses a UUID given by a client. The nil and max UUIDs are
// refused: they are what a zero or uninitialised value looks like, never
// an ID that was meant (and so a name every careless client would share).
func parseUUID(what, v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	switch {
	case err != nil:
		return uuid.UUID{}, badRequest("%s %q is not a UUID", what, v)
	case id == uuid.Nil || id == uuid.Max:
		return uuid.UUID{}, badRequest("%s %s is a reserved UUID (all zeros or all ones), not an ID: use a random UUID", what, id)
	}
	return id, nil
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
