package routing

// Pending is how many tasks of one container type wait for a manager.
type Pending struct {
	Type  string
	Count int
}

// Manager is what a Router sees of one connected manager.
type Manager struct {
	ID string
	// Free is how many more tasks the manager accepts now (its capacity
	// minus tasks in flight); draining managers have none.
	Free int
	// Types are the container types the manager serves; empty means RAW.
	Types []string
	// Warm is the number of idle warm workers per container type (soft
	// routing); nil when unknown.
	Warm map[string]int
}

// Serves reports whether m runs tasks of container type typ.
func (m *Manager) Serves(typ string) bool {
	if len(m.Types) == 0 {
		return typ == ""
	}
	for _, t := range m.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// Assignment sends Count tasks of Type to Managers[Manager].
type Assignment struct {
	Manager int
	Type    string
	Count   int
}

// Router decides assignments. Route appends to dst and returns it; it must
// never give a manager more than its Free slots in total, nor assign more
// tasks of a type than are pending.
type Router interface {
	Route(pending []Pending, managers []Manager, dst []Assignment) []Assignment
}
