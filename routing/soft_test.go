package routing

import (
	"math/rand/v2"
	"testing"
)

// seq returns an IntN that yields the given picks in turn (modulo n).
func seq(picks ...int) func(int) int {
	i := 0
	return func(n int) int {
		p := picks[i%len(picks)]
		i++
		return p % n
	}
}

func TestSoft(t *testing.T) {
	t.Parallel()
	t.Run("prefers the manager with a warm container of the type", func(t *testing.T) {
		managers := []Manager{
			{ID: "cold", Free: 4},
			{ID: "warmA", Free: 4, Warm: map[string]int{"A": 2}},
			{ID: "warmB", Free: 4, Warm: map[string]int{"B": 1}},
		}
		as := checkInvariants(t, Soft{IntN: seq(0)}, []Pending{{Type: "A", Count: 2}, {Type: "B", Count: 1}}, managers)
		want := []Assignment{{Manager: 1, Type: "A", Count: 2}, {Manager: 2, Type: "B", Count: 1}}
		if len(as) != len(want) {
			t.Fatalf("got %v, want %v", as, want)
		}
		for i := range want {
			if as[i] != want[i] {
				t.Fatalf("got %v, want %v", as, want)
			}
		}
	})
	t.Run("beyond the warm containers, a random manager cold-starts", func(t *testing.T) {
		managers := []Manager{{Free: 4}, {Free: 4, Warm: map[string]int{"A": 1}}, {Free: 4}}
		as := checkInvariants(t, Soft{IntN: seq(2)}, []Pending{{Type: "A", Count: 3}}, managers)
		pm, _ := totals(as)
		// One to the warm container, the two others to the pick (index 2
		// of the managers with free slots).
		if pm[1] != 1 || pm[2] != 2 || pm[0] != 0 {
			t.Fatalf("got %v", as)
		}
	})
	t.Run("the random source decides the cold manager", func(t *testing.T) {
		managers := []Manager{{Free: 8}, {Free: 8}, {Free: 8}}
		for pick := range 3 {
			as := checkInvariants(t, Soft{IntN: seq(pick)}, []Pending{{Type: "A", Count: 5}}, managers)
			if len(as) != 1 || as[0].Manager != pick || as[0].Count != 5 {
				t.Fatalf("pick %d: got %v", pick, as)
			}
		}
	})
	t.Run("a warm container busy elsewhere is not counted twice", func(t *testing.T) {
		managers := []Manager{{Free: 1, Warm: map[string]int{"A": 3}}, {Free: 5}}
		as := checkInvariants(t, Soft{IntN: seq(0)}, []Pending{{Type: "A", Count: 4}}, managers)
		pm, _ := totals(as)
		if pm[0] != 1 || pm[1] != 3 {
			t.Fatalf("got %v", as)
		}
	})
	t.Run("fair between types when slots are short", func(t *testing.T) {
		managers := []Manager{{Free: 5}, {Free: 5}}
		as := checkInvariants(t, Soft{IntN: seq(0, 1)}, []Pending{{Type: "A", Count: 1000}, {Type: "B", Count: 1000}}, managers)
		_, pt := totals(as)
		if pt["A"] != 5 || pt["B"] != 5 {
			t.Fatalf("got %v, want 5/5", pt)
		}
	})
	t.Run("slots a short type leaves go to the long one", func(t *testing.T) {
		managers := []Manager{{Free: 10}}
		as := checkInvariants(t, Soft{IntN: seq(0)}, []Pending{{Type: "A", Count: 1000}, {Type: "B", Count: 2}}, managers)
		_, pt := totals(as)
		if pt["A"] != 8 || pt["B"] != 2 {
			t.Fatalf("got %v, want 8/2", pt)
		}
	})
	t.Run("no free slots, nothing routed, even with warm containers", func(t *testing.T) {
		managers := []Manager{{Free: 0, Warm: map[string]int{"A": 2}}, {Free: -1}}
		if as := checkInvariants(t, Soft{}, []Pending{{Type: "A", Count: 3}}, managers); len(as) != 0 {
			t.Fatalf("got %v", as)
		}
	})
	t.Run("ignores the managers' fixed types", func(t *testing.T) {
		managers := []Manager{{Free: 2, Types: []string{"B"}}}
		as := checkInvariants(t, Soft{}, []Pending{{Type: "A", Count: 2}}, managers)
		if _, pt := totals(as); pt["A"] != 2 {
			t.Fatalf("got %v", as)
		}
	})
	t.Run("default random source", func(t *testing.T) {
		managers := []Manager{{Free: 3}, {Free: 3}}
		as := checkInvariants(t, Soft{}, []Pending{{Type: "A", Count: 6}}, managers)
		if _, pt := totals(as); pt["A"] != 6 {
			t.Fatalf("got %v", as)
		}
	})
}

func FuzzSoft(f *testing.F) {
	f.Add(uint64(1), uint16(10), uint8(3), uint8(5), uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, count uint16, nman, free, ntypes, warm uint8) {
		types := []string{"", "A", "B", "C"}
		var pending []Pending
		for i := range int(ntypes%4) + 1 {
			pending = append(pending, Pending{Type: types[i], Count: int(count) / (i + 1)})
		}
		var managers []Manager
		for i := range int(nman % 16) {
			m := Manager{Free: int(free) - i}
			if warm > 0 {
				m.Warm = map[string]int{types[i%4]: int(warm) % (i + 2)}
			}
			managers = append(managers, m)
		}
		r := rand.New(rand.NewPCG(seed, seed^0x9e37))
		as := checkInvariants(t, Soft{IntN: r.IntN}, pending, managers)
		// Work conservation: tasks are left over only when slots are.
		_, pt := totals(as)
		routed, want, slots := 0, 0, 0
		for _, p := range pending {
			routed += pt[p.Type]
			want += p.Count
		}
		for _, m := range managers {
			slots += max(m.Free, 0)
		}
		if routed != min(want, slots) {
			t.Fatalf("routed %d of %d pending with %d free slots", routed, want, slots)
		}
	})
}
