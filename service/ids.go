package service

import (
	"github.com/google/uuid"
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
