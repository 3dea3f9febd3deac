package main

import (
	"slices"
	"sync/atomic"

	"github.com/funcx-go/funcx/routing"
)

// packRouter is a routing.Router of this program's own: it packs pending
// tasks onto the managers with the most free slots first, where
// routing.Plain spreads them evenly, so that the other managers idle
// and their blocks can be scaled in. It ignores container types (every
// task here runs in a plain worker process). An endpoint takes it through
// endpoint.Config.Router; routing/routingtest checks it (router_test.go).
type packRouter struct {
	routed atomic.Int64 // tasks assigned, for the demo's summary
}

var _ routing.Router = (*packRouter)(nil)

// Route implements routing.Router: it appends to dst, gives no manager
// more than its free slots and no type more tasks than are pending.
func (r *packRouter) Route(pending []routing.Pending, managers []routing.Manager, dst []routing.Assignment) []routing.Assignment {
	order := make([]int, len(managers))
	free := make([]int, len(managers))
	for i, m := range managers {
		order[i], free[i] = i, max(m.Free, 0)
	}
	slices.SortStableFunc(order, func(a, b int) int { return free[b] - free[a] })
	for _, p := range pending {
		left := p.Count
		for _, i := range order {
			if left == 0 {
				break
			}
			if n := min(left, free[i]); n > 0 {
				dst = append(dst, routing.Assignment{Manager: i, Type: p.Type, Count: n})
				free[i] -= n
				left -= n
				r.routed.Add(int64(n))
			}
		}
	}
	return dst
}
