package broker

// ConsumerStats is how a Service's ConsumeResults fares.
type ConsumerStats struct {
	// Errors counts, by reason (the Reason constants), the failures to
	// consume an endpoint's result queue and the messages dropped.
	Errors map[string]uint64
	// Endpoints is how many endpoints' result queues ConsumeResults is
	// to consume (set up with EnsureEndpoint or named to Resume).
	Endpoints int
	// Unconsumed is how many of them are not consumed right now: their
	// queue failed and is retried, or ConsumeResults is not running.
	Unconsumed int
}

// Reasons of ConsumerStats.Errors.
const (
	// ReasonMissing: the endpoint's queue, or the endpoint itself, does
	// not exist on the broker.
	ReasonMissing = "missing"
	// ReasonLocked: the queue is in exclusive use by another connection.
	ReasonLocked = "locked"
	// ReasonRefused: the broker refused the service access to the queue.
	ReasonRefused = "refused"
	// ReasonDeleted: the queue was deleted while it was consumed.
	ReasonDeleted = "deleted"
	// ReasonConnection: the connection or channel of the queue's
	// consumer failed or was lost.
	ReasonConnection = "connection"
	// ReasonMalformed: a message was dropped because it could not be
	// decoded.
	ReasonMalformed = "malformed"
	// ReasonPoisoned: a message was dropped because its handler kept
	// failing while other messages were handled.
	ReasonPoisoned = "poisoned"
)

// Reasons lists every reason of ConsumerStats.Errors, so that metrics
// can show each one from zero.
var Reasons = []string{ReasonMissing, ReasonLocked, ReasonRefused, ReasonDeleted, ReasonConnection, ReasonMalformed, ReasonPoisoned}
