package routing

// Hard routes a task only to managers that serve its container type: the
// strategy where each manager launches workers of fixed types (native
// containers with hard routing, Kubernetes pods per image).
//
// Types that compete for the same managers share their slots fairly: each
// round offers every type with work an equal chunk of the free slots, so a
// long backlog of one type does not starve another.
type Hard struct{}

var _ Router = Hard{}

// Route implements Router.
func (Hard) Route(pending []Pending, managers []Manager, dst []Assignment) []Assignment {
	free := freeSlots(managers)
	left := make([]int, len(pending))
	for i, p := range pending {
		left[i] = p.Count
	}
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
		progressed := false
		for ti, p := range pending {
			if left[ti] == 0 {
				continue
			}
			var n int
			dst, n = spread(dst, p.Type, min(chunk, left[ti]), free, func(i int) bool { return managers[i].Serves(p.Type) })
			left[ti] -= n
			progressed = progressed || n > 0
		}
		if !progressed {
			return dst
		}
	}
}
