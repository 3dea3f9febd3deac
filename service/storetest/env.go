// Package storetest is the conformance suite of service.Store: every
// store the service runs on (sqlitestore, pgstore, and any third party's)
// runs Run, so that the service can rely on the same semantics whichever
// store it is given.
//
// The suite checks what the service relies on: identities and tokens,
// endpoint ownership and tombstones, incarnations, the submission rules
// of AddTasks, idempotent results (the first terminal result wins),
// results paged by seq, and, with several stores on one database as
// several service replicas have them, that concurrent writers never make
// a result visible below a seq a reader has already passed, that the
// first terminal result wins across stores, and that a deletion racing
// submissions leaves no task waiting; and retention: expired results
// deleted oldest first in bounded batches with their tasks, fetched
// results deleted by owner, both racing writers on two stores.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Env{
//			NewStore: func(t *testing.T) service.Store { ... },
//			Reopen:   func(t *testing.T, st service.Store) service.Store { ... },
//			Reroute:  func(t *testing.T, st service.Store, id funcx.TaskID) { ... },
//		})
//	}
package storetest

import (
	"cmp"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// DefaultWriters is the default of Env.Writers.
const DefaultWriters = 8

// Env is what Run needs from an implementation.
type Env struct {
	// NewStore returns a store on an empty database of its own, for one
	// subtest. Run closes it when the subtest ends (and not before, unless
	// the subtest restarts it: see Reopen). Required.
	NewStore func(t *testing.T) service.Store
	// Reopen returns another store on st's database: a second service
	// process sharing it, or st's process after a restart (st may be
	// closed by then). Run closes it when the subtest ends. Required.
	Reopen func(t *testing.T, st service.Store) service.Store
	// Reroute stamps the stored task with an incarnation its endpoint
	// never had, as if it had been routed to another registration of it:
	// what tombstones make unreachable through the Store's methods, and
	// what the check that results are accepted only from the task's
	// registration needs. Required.
	Reroute func(t *testing.T, st service.Store, id funcx.TaskID)
	// Writers is how many goroutines write at once in the concurrency
	// checks, spread over two stores on one database. Defaults to
	// DefaultWriters.
	Writers int
}

func (e Env) withDefaults(t *testing.T) Env {
	t.Helper()
	if e.NewStore == nil || e.Reopen == nil || e.Reroute == nil {
		t.Fatal("storetest: Env.NewStore, Env.Reopen and Env.Reroute are required")
	}
	e.Writers = cmp.Or(e.Writers, DefaultWriters)
	return e
}
