package brokerutil

import "sync"

// Registry is the set of endpoints whose result queues ConsumeResults
// consumes. It is safe for concurrent use.
type Registry struct {
	mu sync.Mutex
	// ids maps each endpoint to its wake channel, which Add closes (and
	// replaces) to have a failing queue retried at once.
	ids     map[string]chan struct{}
	changed chan struct{} // closed and replaced when an endpoint comes or goes
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{ids: make(map[string]chan struct{}), changed: make(chan struct{})}
}

// Add adds endpoints. With wake set, those already present are retried
// at once if their queue is failing: EnsureEndpoint has just set them up
// again.
func (r *Registry) Add(wake bool, ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, id := range ids {
		ch, ok := r.ids[id]
		switch {
		case !ok:
			added = true
		case wake:
			close(ch)
		default:
			continue
		}
		r.ids[id] = make(chan struct{})
	}
	if added {
		r.broadcastLocked()
	}
}

// Remove removes an endpoint.
func (r *Registry) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ids[id]; ok {
		delete(r.ids, id)
		r.broadcastLocked()
	}
}

// RemoveIf removes an endpoint if it was not added again with wake since
// Wake returned wake, and reports whether it did.
func (r *Registry) RemoveIf(id string, wake <-chan struct{}) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.ids[id]; !ok || ch != wake {
		return false
	}
	delete(r.ids, id)
	r.broadcastLocked()
	return true
}

// Wake returns the channel Add closes when it adds id again with wake;
// nil if id is not present.
func (r *Registry) Wake(id string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

// Len returns the number of endpoints.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// Snapshot returns the endpoints and a channel closed when one comes or
// goes.
func (r *Registry) Snapshot() (map[string]bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make(map[string]bool, len(r.ids))
	for id := range r.ids {
		ids[id] = true
	}
	return ids, r.changed
}

func (r *Registry) broadcastLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}
