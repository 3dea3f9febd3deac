package main

import (
	"testing"

	"github.com/funcx-go/funcx/routing"
	"github.com/funcx-go/funcx/routing/routingtest"
)

// The program's router keeps every router's promises.
func TestPackRouterPromises(t *testing.T) {
	t.Parallel()
	routingtest.Check(t, &packRouter{})
}

// It packs: the manager with the most free slots fills first.
func TestPackRouterPacks(t *testing.T) {
	t.Parallel()
	got := (&packRouter{}).Route([]routing.Pending{{Count: 5}}, []routing.Manager{{ID: "a", Free: 2}, {ID: "b", Free: 8}}, nil)
	if len(got) != 1 || got[0] != (routing.Assignment{Manager: 1, Count: 5}) {
		t.Errorf("got %+v, want all five on b", got)
	}
}
