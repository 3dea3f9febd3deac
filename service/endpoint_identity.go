package service

import (
	"net/http"

	"github.com/funcx-go/funcx"
)

// An endpoint ID belongs to one identity forever (see the package
// documentation, Endpoint identity): a deleted ID is tombstoned in the
// store, its unfinished tasks fail with EndpointDeleted, and a result is
// accepted only from the registration its task was routed to.

// idDeleted is the refusal of a registration with a tombstoned ID. It
// does not say whose the ID was.
func idDeleted(id string) *apiError {
	return newAPIError(http.StatusGone, "endpoint_deleted",
		"endpoint ID %s was deleted and is never reused; register without an endpoint_id to get a new one", id)
}

// endpointDeleted is the answer to a use of a deleted endpoint.
func endpointDeleted(id string) *apiError {
	return newAPIError(http.StatusGone, "endpoint_deleted",
		"endpoint %s was deleted (its unfinished tasks failed with %s) and its ID is never reused: use another endpoint",
		id, funcx.EndpointDeleted)
}

// announceDeletion counts the tasks a deletion failed and wakes their
// owner's long polls, which read them from the store.
func (s *Service) announceDeletion(d EndpointDeletion) {
	if d.Failed == 0 {
		return
	}
	s.metrics.failed.WithLabelValues(funcx.EndpointDeleted.String()).Add(float64(d.Failed))
	s.notify.wakeOwner(d.Owner, d.LastSeq)
}

// countMisrouted counts the results StoreResults dropped because they did
// not come from the registration their task was routed to.
func (s *Service) countMisrouted(endpointID string, out StoredResults) {
	if out.Foreign > 0 {
		s.metrics.dropped.WithLabelValues("foreign_task").Add(float64(out.Foreign))
		s.log.Warn("results for another endpoint's tasks dropped", "endpoint", endpointID, "count", out.Foreign)
	}
	if out.Stale > 0 {
		s.metrics.dropped.WithLabelValues("stale_registration").Add(float64(out.Stale))
		s.log.Warn("results for tasks of another registration dropped", "endpoint", endpointID, "count", out.Stale)
	}
}
