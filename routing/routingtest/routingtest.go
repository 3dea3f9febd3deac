// Package routingtest checks that a routing.Router keeps the promises
// every router must keep, whatever its strategy: no manager gets more
// tasks than its free slots, no type more tasks than are pending, every
// assignment names a manager that exists and a positive count, and Route
// appends to dst without touching what was there. A Router of your own
// (endpoint.Config.Router) runs it in its tests:
//
//	func TestMyRouter(t *testing.T) { routingtest.Check(t, MyRouter{}) }
//
// The interchange cuts assignments that break these rules rather than
// trust them, but tasks a router does not assign wait: what Check cannot
// see is whether your strategy leaves work waiting that it should route.
package routingtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/funcx-go/funcx/routing"
)

// Rounds is how many random situations Check routes.
const Rounds = 2000

// Check routes Rounds random situations (managers with free, no or
// negative slots, of no, one or several container types, with warm
// containers; pending tasks of several types) with r, and fails t at the
// first broken promise, showing the situation.
func Check(t testing.TB, r routing.Router) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2)) // the same situations every run
	types := []string{"", "A", "B", "C"}
	for round := range Rounds {
		pending, managers := situation(rng, types)
		prefix := []routing.Assignment{{Manager: -7, Type: "sentinel", Count: -7}}
		dst := r.Route(pending, managers, slices.Clone(prefix))
		if err := Verify(pending, managers, prefix, dst); err != nil {
			t.Fatalf("round %d: %v\npending %+v\nmanagers %+v\nassignments %+v", round, err, pending, managers, dst)
		}
	}
}

// Verify reports the first broken promise of assignments, which Route
// returned for pending and managers after prefix (the dst it was given).
func Verify(pending []routing.Pending, managers []routing.Manager, prefix, assignments []routing.Assignment) error {
	if len(assignments) < len(prefix) {
		return fmt.Errorf("Route dropped what dst held: %d assignments returned, dst had %d", len(assignments), len(prefix))
	}
	for i := range prefix {
		if assignments[i] != prefix[i] {
			return fmt.Errorf("Route changed dst[%d] from %+v to %+v: it must only append", i, prefix[i], assignments[i])
		}
	}
	left := map[string]int{}
	for _, p := range pending {
		left[p.Type] += p.Count
	}
	free := make([]int, len(managers))
	for i, m := range managers {
		free[i] = max(m.Free, 0)
	}
	for _, a := range assignments[len(prefix):] {
		switch {
		case a.Manager < 0 || a.Manager >= len(managers):
			return fmt.Errorf("assignment %+v names manager %d of %d", a, a.Manager, len(managers))
		case a.Count <= 0:
			return fmt.Errorf("assignment %+v has no positive count", a)
		}
		if free[a.Manager] -= a.Count; free[a.Manager] < 0 {
			return fmt.Errorf("manager %d (%s) gets more tasks than its %d free slots", a.Manager, managers[a.Manager].ID, managers[a.Manager].Free)
		}
		if left[a.Type] -= a.Count; left[a.Type] < 0 {
			return fmt.Errorf("type %q gets more tasks than are pending", a.Type)
		}
	}
	return nil
}

// situation makes a random set of pending tasks and managers.
func situation(rng *rand.Rand, types []string) ([]routing.Pending, []routing.Manager) {
	var pending []routing.Pending
	for _, typ := range types {
		if rng.IntN(3) > 0 {
			pending = append(pending, routing.Pending{Type: typ, Count: rng.IntN(50)})
		}
	}
	managers := make([]routing.Manager, rng.IntN(6))
	for i := range managers {
		m := routing.Manager{ID: fmt.Sprintf("m%d", i), Free: rng.IntN(12) - 2}
		for _, typ := range types[1:] {
			if rng.IntN(3) == 0 {
				m.Types = append(m.Types, typ)
			}
		}
		if len(m.Types) > 0 && rng.IntN(2) == 0 {
			m.Warm = map[string]int{m.Types[0]: rng.IntN(3)}
		}
		managers[i] = m
	}
	return pending, managers
}
