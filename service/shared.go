package service

import (
	"context"
	"time"
)

// SharedStore is an optional interface of a Store that several service
// processes (replicas behind a load balancer) share, such as pgstore's.
// The service watches it, so that what another replica does shows here
// at once: a long poll on this replica wakes when that one stores the
// poller's results, a deleted endpoint is forgotten, a newly registered
// one consumed.
type SharedStore interface {
	Store
	// WatchChanges calls fn with the changes other processes make to the
	// store, in commit order, from one goroutine, until ctx ends or the
	// store is closed; it then returns nil. It keeps watching across
	// lost connections: each time it starts watching, and again after
	// each reconnection, it first calls fn with ChangeResync, since
	// changes may have been missed.
	WatchChanges(ctx context.Context, fn func(Change)) error
	// AnnounceEndpoint tells the other processes that the endpoint's
	// broker resources are set up (after broker.Service.EnsureEndpoint),
	// so that they consume its results at once; they see it as
	// ChangeEndpointReady.
	AnnounceEndpoint(ctx context.Context, endpointID string) error
}

// ChangeKind says what a Change is.
type ChangeKind uint8

// Kinds of Change.
const (
	// ChangeResync: changes may have been missed (the watch began or
	// reconnected); anything may have changed.
	ChangeResync ChangeKind = iota + 1
	// ChangeResults: results of Owners (of every owner if AllOwners) were
	// stored, up to seq LastSeq.
	ChangeResults
	// ChangeEndpointReady: EndpointID was registered and its broker
	// resources set up.
	ChangeEndpointReady
	// ChangeEndpointDeleted: EndpointID was deleted; if it failed tasks,
	// their results are Owners' up to seq LastSeq.
	ChangeEndpointDeleted
)

// Change is one change another process made to a SharedStore.
type Change struct {
	Kind       ChangeKind
	EndpointID string
	Owners     []string
	AllOwners  bool
	// LastSeq is the highest seq of the results the change stored. Every
	// result with a seq up to it is committed (or never will be) when
	// the change is delivered, as Store requires of seq order.
	LastSeq int64
}

// watchShared applies the changes of other processes on the shared store
// until ctx ends, watching again (with a pause) if the watch fails.
func (s *Service) watchShared(ctx context.Context, st SharedStore) {
	for {
		err := st.WatchChanges(ctx, func(c Change) { s.applyChange(ctx, c) })
		if ctx.Err() != nil {
			return
		}
		s.log.Error("watching the shared store stopped; watching again", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// changeKinds are the label values of store_changes_total.
var changeKinds = map[ChangeKind]string{ChangeResync: "resync", ChangeResults: "results",
	ChangeEndpointReady: "endpoint_ready", ChangeEndpointDeleted: "endpoint_deleted"}

// applyChange brings this process up to date with another's change.
func (s *Service) applyChange(ctx context.Context, c Change) {
	if k, ok := changeKinds[c.Kind]; ok {
		s.metrics.changes.WithLabelValues(k).Inc()
	}
	switch c.Kind {
	case ChangeResync:
		// Polls read the store again, submissions look endpoints up
		// again, and endpoints registered meanwhile are consumed.
		s.notify.wakeAll(0)
		s.seen.endpoints.clear()
		s.seen.tokens.clear()
		if err := s.resume(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("could not resume the stored endpoints", "err", err)
		}
	case ChangeResults:
		if c.AllOwners {
			s.notify.wakeAll(c.LastSeq)
			return
		}
		for _, o := range c.Owners {
			s.notify.wakeOwner(o, c.LastSeq)
		}
	case ChangeEndpointReady:
		if err := s.broker.Resume(ctx, []string{c.EndpointID}); err != nil && ctx.Err() == nil {
			s.log.Error("could not consume an endpoint registered through another process", "endpoint", c.EndpointID, "err", err)
		}
	case ChangeEndpointDeleted:
		s.seen.endpoints.forget(c.EndpointID)
		s.live.forget(c.EndpointID)
		for _, o := range c.Owners {
			s.notify.wakeOwner(o, c.LastSeq)
		}
	}
}

// announceEndpoint tells the other processes on a shared store that the
// endpoint is set up; without it they consume it at their next resync.
func (s *Service) announceEndpoint(ctx context.Context, id string) {
	st, ok := s.store.(SharedStore)
	if !ok {
		return
	}
	if err := st.AnnounceEndpoint(ctx, id); err != nil {
		s.log.Warn("could not announce an endpoint to the other service processes; they consume it within a minute", "endpoint", id, "err", err)
	}
}
