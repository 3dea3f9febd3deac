package routingtest_test

import (
	"testing"

	"github.com/funcx-go/funcx/routing"
	"github.com/funcx-go/funcx/routing/routingtest"
)

// Every router of package routing keeps the promises.
func TestRoutersOfThisModule(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]routing.Router{
		"plain": routing.Plain{},
		"hard":  routing.Hard{},
		"soft":  routing.Soft{},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			routingtest.Check(t, r)
		})
	}
}

// greedy gives every pending task to the first manager, whatever its
// slots: Verify must catch it.
type greedy struct{}

func (greedy) Route(pending []routing.Pending, managers []routing.Manager, dst []routing.Assignment) []routing.Assignment {
	for _, p := range pending {
		if len(managers) > 0 && p.Count > 0 {
			dst = append(dst, routing.Assignment{Manager: 0, Type: p.Type, Count: p.Count})
		}
	}
	return dst
}

func TestVerifyCatchesBrokenPromises(t *testing.T) {
	t.Parallel()
	managers := []routing.Manager{{ID: "a", Free: 2}}
	pending := []routing.Pending{{Count: 5}}
	for name, tc := range map[string]struct {
		prefix, out []routing.Assignment
	}{
		"over capacity":     {nil, greedy{}.Route(pending, managers, nil)},
		"no such manager":   {nil, []routing.Assignment{{Manager: 1, Count: 1}}},
		"zero count":        {nil, []routing.Assignment{{Manager: 0, Count: 0}}},
		"more than pending": {nil, []routing.Assignment{{Manager: 0, Type: "A", Count: 1}}},
		"dst dropped":       {[]routing.Assignment{{Manager: 0, Count: 1}}, nil},
		"dst changed":       {[]routing.Assignment{{Manager: 0, Count: 1}}, []routing.Assignment{{Manager: 0, Count: 2}}},
	} {
		if err := routingtest.Verify(pending, managers, tc.prefix, tc.out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := routingtest.Verify(pending, managers, nil, []routing.Assignment{{Manager: 0, Count: 2}}); err != nil {
		t.Errorf("a good assignment: %v", err)
	}
}
