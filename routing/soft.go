package routing

import "math/rand/v2"

// Soft is warm-container aware routing for native containers (docker,
// singularity, shifter with container_routing = soft): any manager can
// start a container of any type, so a task goes
//
//  1. to a manager with an idle warm container of its type (Manager.Warm),
//     as many as it has idle ones and free slots;
//  2. otherwise to a random manager with free slots, which cold-starts a
//     container for it (evicting an idle one of another type if it must).
//
// Types share the free slots of the second step fairly: each round offers
// every type still waiting an equal chunk, so one long backlog does not
// starve another type. Within a round a type's chunk goes to one random
// manager, so that its cold starts gather on few managers rather than
// spreading one container of every type everywhere.
type Soft struct {
	// IntN returns a uniform random integer in [0, n); tests inject a
	// deterministic source. Defaults to math/rand/v2's IntN.
	IntN func(n int) int
}

var _ Router = Soft{}

// Route implements Router.
func (s Soft) Route(pending []Pending, managers []Manager, dst []Assignment) []Assignment {
	intN := s.IntN
	if intN == nil {
		intN = rand.IntN
	}
	free := freeSlots(managers)
	left := make([]int, len(pending))
	first := len(dst)
	// 1. Warm containers first.
	for ti, p := range pending {
		left[ti] = max(p.Count, 0)
		for i := range managers {
			if left[ti] == 0 {
				break
			}
			k := min(left[ti], managers[i].Warm[p.Type], free[i])
			if k <= 0 {
				continue
			}
			free[i] -= k
			left[ti] -= k
			dst = addAssignment(dst, first, i, p.Type, k)
		}
	}
	// 2. Cold starts on random managers with room, fair between types.
	var candidates []int
	for {
		active, slots := 0, 0
		for _, l := range left {
			if l > 0 {
				active++
			}
		}
		for _, f := range free {
			slots += f
		}
		if active == 0 || slots == 0 {
			return dst
		}
		chunk := max(1, slots/active)
		for ti, p := range pending {
			if left[ti] == 0 {
				continue
			}
			candidates = candidates[:0]
			for i, f := range free {
				if f > 0 {
					candidates = append(candidates, i)
				}
			}
			if len(candidates) == 0 {
				return dst
			}
			i := candidates[intN(len(candidates))]
			k := min(chunk, left[ti], free[i])
			free[i] -= k
			left[ti] -= k
			dst = addAssignment(dst, first, i, p.Type, k)
		}
	}
}
