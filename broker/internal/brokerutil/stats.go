package brokerutil

import (
	"sync/atomic"

	"github.com/funcx-go/funcx/broker"
)

// Stats are the counters behind broker.ConsumerStats. The zero value is
// ready to use.
type Stats struct {
	errors    [len(reasons)]atomic.Uint64
	consuming atomic.Int64 // endpoint queues consumed right now
}

// reasons are broker.Reasons, as an array so that Stats needs no
// constructor.
var reasons = [...]string{
	broker.ReasonMissing, broker.ReasonLocked, broker.ReasonRefused, broker.ReasonDeleted,
	broker.ReasonConnection, broker.ReasonMalformed, broker.ReasonPoisoned,
}

// Count counts one error of reason (one of broker.Reasons; others count
// as broker.ReasonConnection).
func (s *Stats) Count(reason string) {
	for i, r := range reasons {
		if r == reason {
			s.errors[i].Add(1)
			return
		}
	}
	s.Count(broker.ReasonConnection)
}

// Errors returns the count of one reason.
func (s *Stats) Errors(reason string) uint64 {
	for i, r := range reasons {
		if r == reason {
			return s.errors[i].Load()
		}
	}
	return 0
}

// Snapshot returns the stats of a Service whose registry holds
// endpoints.
func (s *Stats) Snapshot(endpoints int) broker.ConsumerStats {
	st := broker.ConsumerStats{Errors: make(map[string]uint64, len(reasons)), Endpoints: endpoints}
	for i, r := range reasons {
		st.Errors[r] = s.errors[i].Load()
	}
	// An endpoint removed while its queue is still consumed counts until
	// its consumer ends.
	st.Unconsumed = max(endpoints-int(s.consuming.Load()), 0)
	return st
}
