package rabbitmq

import "sync"

// registry is the set of endpoints whose result queues ConsumeResults
// consumes.
type registry struct {
	mu      sync.Mutex
	ids     map[string]struct{}
	changed chan struct{} // closed and replaced on every change
}

func newRegistry() registry {
	return registry{ids: make(map[string]struct{}), changed: make(chan struct{})}
}

func (r *registry) add(ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		r.ids[id] = struct{}{}
	}
	// Also when nothing is new: ConsumeResults then looks again for the
	// result queues it found missing.
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ids[id]; ok {
		delete(r.ids, id)
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

// snapshot returns the IDs and the channel closed at the next change.
func (r *registry) snapshot() (map[string]struct{}, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make(map[string]struct{}, len(r.ids))
	for id := range r.ids {
		ids[id] = struct{}{}
	}
	return ids, r.changed
}
