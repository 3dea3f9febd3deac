package broker

import "errors"

// Errors callers branch on. Implementations wrap them (errors.Is) and keep
// the broker's own words in the message, e.g. RabbitMQ's
// "ACCESS_REFUSED - ..." reply text.
var (
	// ErrAccessRefused: the credentials were refused (wrong password, a
	// deleted or rotated user) or do not grant the resource asked for.
	// Dialing again with the same credentials will not help; an endpoint
	// should register again to get fresh ones.
	ErrAccessRefused = errors.New("broker: access refused")
	// ErrUnknownEndpoint: the endpoint has no task queue (it was never
	// set up with EnsureEndpoint, or was deleted), so a batch for it
	// would be lost.
	ErrUnknownEndpoint = errors.New("broker: unknown endpoint")
	// ErrTooLarge: one task or result alone exceeds the message size
	// limit, so it cannot be sent in any batch.
	ErrTooLarge = errors.New("broker: item exceeds the message size limit")
)
