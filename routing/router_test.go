package routing

import (
	"fmt"
	"testing"
)

// totals sums assignments per manager and per type.
func totals(as []Assignment) (perManager map[int]int, perType map[string]int) {
	perManager, perType = map[int]int{}, map[string]int{}
	for _, a := range as {
		if a.Count <= 0 {
			panic(fmt.Sprintf("non-positive assignment %+v", a))
		}
		perManager[a.Manager] += a.Count
		perType[a.Type] += a.Count
	}
	return
}

// checkInvariants asserts what every Router promises: capacity never
// exceeded, never more tasks than pending.
func checkInvariants(t *testing.T, r Router, pending []Pending, managers []Manager) []Assignment {
	t.Helper()
	as := r.Route(pending, managers, nil)
	perManager, perType := totals(as)
	for i, m := range managers {
		if perManager[i] > max(m.Free, 0) {
			t.Fatalf("manager %d got %d tasks, free %d", i, perManager[i], m.Free)
		}
	}
	for _, p := range pending {
		if perType[p.Type] > p.Count {
			t.Fatalf("type %q got %d tasks, pending %d", p.Type, perType[p.Type], p.Count)
		}
	}
	return as
}

func TestPlain(t *testing.T) {
	t.Parallel()
	t.Run("spreads evenly", func(t *testing.T) {
		as := checkInvariants(t, Plain{}, []Pending{{Count: 10}}, []Manager{{Free: 100}, {Free: 100}})
		pm, _ := totals(as)
		if pm[0] != 5 || pm[1] != 5 {
			t.Fatalf("got %v, want 5 and 5", pm)
		}
	})
	t.Run("fills the free slots when the backlog is large", func(t *testing.T) {
		as := checkInvariants(t, Plain{}, []Pending{{Count: 1000}}, []Manager{{Free: 3}, {Free: 0}, {Free: 7}, {Free: -2}})
		pm, _ := totals(as)
		if pm[0] != 3 || pm[2] != 7 || pm[1] != 0 || pm[3] != 0 {
			t.Fatalf("got %v", pm)
		}
	})
	t.Run("uneven capacity still routes everything", func(t *testing.T) {
		as := checkInvariants(t, Plain{}, []Pending{{Count: 9}}, []Manager{{Free: 1}, {Free: 20}})
		_, pt := totals(as)
		if pt[""] != 9 {
			t.Fatalf("routed %d of 9", pt[""])
		}
	})
	t.Run("no managers", func(t *testing.T) {
		if as := (Plain{}).Route([]Pending{{Count: 5}}, nil, nil); len(as) != 0 {
			t.Fatalf("got %v", as)
		}
	})
	t.Run("ignores container types", func(t *testing.T) {
		as := checkInvariants(t, Plain{}, []Pending{{Type: "img", Count: 2}}, []Manager{{Free: 2}})
		if _, pt := totals(as); pt["img"] != 2 {
			t.Fatalf("got %v", as)
		}
	})
}

func TestHard(t *testing.T) {
	t.Parallel()
	managers := []Manager{
		{ID: "a", Free: 4, Types: []string{"A"}},
		{ID: "b", Free: 4, Types: []string{"B"}},
		{ID: "raw", Free: 4},
	}
	t.Run("only managers of the type", func(t *testing.T) {
		as := checkInvariants(t, Hard{}, []Pending{{Type: "A", Count: 10}, {Type: "B", Count: 1}, {Type: "", Count: 2}}, managers)
		for _, a := range as {
			if !managers[a.Manager].Serves(a.Type) {
				t.Fatalf("type %q routed to manager %s", a.Type, managers[a.Manager].ID)
			}
		}
		pm, _ := totals(as)
		if pm[0] != 4 || pm[1] != 1 || pm[2] != 2 {
			t.Fatalf("got %v", pm)
		}
	})
	t.Run("a type with no manager waits", func(t *testing.T) {
		if as := checkInvariants(t, Hard{}, []Pending{{Type: "C", Count: 3}}, managers); len(as) != 0 {
			t.Fatalf("got %v", as)
		}
	})
	t.Run("fair between types sharing managers", func(t *testing.T) {
		shared := []Manager{{Free: 10, Types: []string{"A", "B"}}}
		as := checkInvariants(t, Hard{}, []Pending{{Type: "A", Count: 1000}, {Type: "B", Count: 1000}}, shared)
		_, pt := totals(as)
		if pt["A"] != 5 || pt["B"] != 5 {
			t.Fatalf("got %v, want 5/5", pt)
		}
	})
	t.Run("slots left by a short type go to the long one", func(t *testing.T) {
		shared := []Manager{{Free: 10, Types: []string{"A", "B"}}}
		as := checkInvariants(t, Hard{}, []Pending{{Type: "A", Count: 1000}, {Type: "B", Count: 2}}, shared)
		_, pt := totals(as)
		if pt["A"] != 8 || pt["B"] != 2 {
			t.Fatalf("got %v, want 8/2", pt)
		}
	})
}

func FuzzRouters(f *testing.F) {
	f.Add(uint16(10), uint8(3), uint8(5), uint8(2))
	f.Fuzz(func(t *testing.T, count uint16, nman, free, ntypes uint8) {
		types := []string{"", "A", "B", "C"}
		var pending []Pending
		for i := range int(ntypes%4) + 1 {
			pending = append(pending, Pending{Type: types[i], Count: int(count) / (i + 1)})
		}
		var managers []Manager
		for i := range int(nman % 16) {
			managers = append(managers, Manager{Free: int(free) - i, Types: types[i%4 : i%4+i%2]})
		}
		for _, r := range []Router{Plain{}, Hard{}, Soft{IntN: func(n int) int { return int(count) % n }}} {
			checkInvariants(t, r, pending, managers)
		}
	})
}

func BenchmarkPlainRoute(b *testing.B) {
	managers := make([]Manager, 64)
	for i := range managers {
		managers[i].Free = 32
	}
	var dst []Assignment
	for b.Loop() {
		dst = Plain{}.Route([]Pending{{Count: 5000}}, managers, dst[:0])
	}
}
