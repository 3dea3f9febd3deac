package service

import (
	"sync"
	"time"
)

// liveness keeps the latest heartbeat of each endpoint in memory for the
// endpoints_online gauge, which a scrape must be able to read without a
// query. It fills within one heartbeat period of a restart.
type liveness struct {
	mu   sync.Mutex
	last map[string]Heartbeat
}

func newLiveness() *liveness { return &liveness{last: make(map[string]Heartbeat)} }

func (l *liveness) record(endpointID string, hb Heartbeat) {
	l.mu.Lock()
	l.last[endpointID] = hb
	l.mu.Unlock()
}

func (l *liveness) forget(endpointID string) {
	l.mu.Lock()
	delete(l.last, endpointID)
	l.mu.Unlock()
}

func (l *liveness) online(now time.Time, offlineAfter time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, hb := range l.last {
		if isOnline(hb, now, offlineAfter) {
			n++
		}
	}
	return n
}

// isOnline reports whether an endpoint with that latest heartbeat is
// online: one arrived within offlineAfter and it was not a clean stop's.
func isOnline(hb Heartbeat, now time.Time, offlineAfter time.Duration) bool {
	return !hb.Time.IsZero() && !hb.Stopping && now.Sub(hb.Time) <= offlineAfter
}
