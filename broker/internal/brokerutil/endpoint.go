package brokerutil

import (
	"crypto/rand"
	"fmt"
)

// maxEndpointID keeps the longest resource name ("funcx.ep.<id>.results")
// well under AMQP's 255-byte limit on queue and exchange names.
const maxEndpointID = 200

// ValidateEndpointID accepts letters, digits, '-' and '_', so that an
// ID is safe in virtual host, user, queue and exchange names and in the
// permission patterns made of them. A dot is refused: resource names are
// "funcx.ep.<id>.<kind>", and an endpoint "a" would otherwise share the
// prefix of an endpoint "a.b".
func ValidateEndpointID(id string) error {
	if id == "" {
		return fmt.Errorf("endpoint id is empty")
	}
	if len(id) > maxEndpointID {
		return fmt.Errorf("endpoint id of %d bytes is longer than %d", len(id), maxEndpointID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("endpoint id %q: character %q not allowed (use letters, digits, '-' and '_')", id, c)
		}
	}
	return nil
}

// Username is the broker user of an endpoint.
func Username(endpointID string) string { return "funcx-ep-" + endpointID }

// NewPassword returns a fresh random password: at least 128 bits, in
// base32 letters and digits, so it needs no escaping in an AMQP URL.
func NewPassword() string { return rand.Text() }
