package routing

// Plain routes tasks of any type to any manager with free slots, spreading
// each round evenly so that one manager does not take the whole backlog
// while another idles. It is the strategy for raw worker processes.
type Plain struct{}

var _ Router = Plain{}

// Route implements Router.
func (Plain) Route(pending []Pending, managers []Manager, dst []Assignment) []Assignment {
	free := freeSlots(managers)
	for _, p := range pending {
		dst, _ = spread(dst, p.Type, p.Count, free, nil)
	}
	return dst
}

// freeSlots copies the managers' free slots so strategies can spend them.
func freeSlots(managers []Manager) []int {
	free := make([]int, len(managers))
	for i := range managers {
		free[i] = max(managers[i].Free, 0)
	}
	return free
}

// spread assigns up to count tasks of typ over the managers that have free
// slots and, when eligible is non-nil, are eligible: each round gives every
// such manager an equal share (rounded up) of what remains, capped by its
// free slots, until the tasks or the slots run out. It spends free and
// returns how many tasks it assigned.
func spread(dst []Assignment, typ string, count int, free []int, eligible func(i int) bool) ([]Assignment, int) {
	first, want := len(dst), count
	for count > 0 {
		n := 0
		for i, f := range free {
			if f > 0 && (eligible == nil || eligible(i)) {
				n++
			}
		}
		if n == 0 {
			break
		}
		share := (count + n - 1) / n
		for i := range free {
			if count == 0 {
				break
			}
			if free[i] == 0 || (eligible != nil && !eligible(i)) {
				continue
			}
			k := min(share, free[i], count)
			free[i] -= k
			count -= k
			dst = addAssignment(dst, first, i, typ, k)
		}
	}
	return dst, want - count
}

// addAssignment merges k more tasks for manager i into the assignments
// made since index first, so each (manager, type) appears once.
func addAssignment(dst []Assignment, first, i int, typ string, k int) []Assignment {
	for j := first; j < len(dst); j++ {
		if dst[j].Manager == i && dst[j].Type == typ {
			dst[j].Count += k
			return dst
		}
	}
	return append(dst, Assignment{Manager: i, Type: typ, Count: k})
}
