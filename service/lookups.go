package service

import (
	"sync"
	"time"
)

// Submissions read the same few records over and over: the function of
// every task and the endpoint's owner. Each SQLite read costs a reader
// whose page cache the last commit emptied, so a submission remembers
// them (lookups):
//
//   - functions are immutable once registered (there is no update or
//     delete), so a remembered function is always right;
//   - an endpoint's owner never changes, but the endpoint may be deleted:
//     this service forgets it on delete, and on a SharedStore when
//     another replica's deletion arrives (ChangeEndpointDeleted, at its
//     commit); one whose change was missed is forgotten within
//     endpointTTL. A submission in that window stores nothing all the
//     same: AddTasks checks the endpoint in its transaction (ErrDeleted,
//     410).
//
// Every request also presents a bearer token, checked against the store
// at each request before; a token is immutable too, but its identity may
// be removed: this service forgets every token when it removes one, and
// a removal by another process (the funcx-service CLI, another replica)
// takes effect here within tokenTTL. Expiry is checked at every request
// against the remembered time. Unknown tokens are not remembered, so a
// token made by another replica works at once.
//
// Reads that show state (status, heartbeats) never come from here.

// endpointTTL bounds how long a remembered endpoint is trusted.
const endpointTTL = 2 * time.Second

// tokenTTL bounds how long a remembered token is trusted.
const tokenTTL = 2 * time.Second

// maxRemembered bounds each cache; when full it starts over.
const maxRemembered = 4096

// lookups are the records submissions remember.
type lookups struct {
	functions recordCache[FunctionRecord]
	endpoints recordCache[Endpoint]
	tokens    recordCache[tokenIdentity] // by token hash
}

// tokenIdentity is what a token stands for.
type tokenIdentity struct {
	id      Identity
	expires time.Time
}

// recordCache remembers records by ID, each for ttl (0: for ever).
type recordCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]remembered[V]
}

type remembered[V any] struct {
	v  V
	at time.Time
}

func (c *recordCache[V]) get(id string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || (c.ttl > 0 && now.Sub(e.at) >= c.ttl) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *recordCache[V]) put(id string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxRemembered {
		c.m = make(map[string]remembered[V])
	}
	c.m[id] = remembered[V]{v, now}
}

// clear forgets every record.
func (c *recordCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

func (c *recordCache[V]) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
