package interchange

import "time"

// Stats are the interchange's load figures, for scaling and status output.
type Stats struct {
	// Pending is the number of tasks waiting for a manager.
	Pending int
	// PendingByType breaks Pending down by container type.
	PendingByType map[string]int
	// InFlight is the number of tasks dispatched and not yet finished.
	InFlight int
	Managers []ManagerStats
	Counters Counters
	// Routing sums the container figures of the connected managers.
	Routing RoutingFigures
}

// RoutingFigures count how tasks met containers: WarmHits ran in a
// container already running (warm), ColdStarts are containers started,
// Switches containers evicted for another type, Retired idle containers
// stopped, StartFailures containers that failed before serving.
type RoutingFigures struct {
	WarmHits      int
	ColdStarts    int
	Switches      int
	Retired       int
	StartFailures int
}

// ManagerStats describes one connected manager.
type ManagerStats struct {
	ID             string
	Hostname       string
	BlockID        string
	PID            int
	Workers        int
	Capacity       int
	InFlight       int
	Draining       bool
	ContainerTypes []string
	ConnectedAt    time.Time
	// IdleSince is when the manager last had no task in flight; zero
	// while it is busy.
	IdleSince time.Time
	LastHeard time.Time
	// Containers are the manager's latest worker figures per container
	// type, with its warm-hit, cold-start and switch counts.
	Containers    []ContainerStats
	WarmHits      int
	ColdStarts    int
	Switches      int
	Retired       int
	StartFailures int
}

// ContainerStats are a manager's workers of one container type.
type ContainerStats struct {
	Container string
	Workers   int
	Idle      int
}

// Stats returns a snapshot of the load figures.
func (ix *Interchange) Stats() Stats {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s := Stats{
		Pending:       ix.pending.total,
		PendingByType: make(map[string]int, len(ix.pending.order)),
		InFlight:      ix.inflight,
		Counters:      ix.counters,
		Managers:      make([]ManagerStats, 0, len(ix.order)),
	}
	for _, typ := range ix.pending.order {
		if n := ix.pending.byType[typ].len(); n > 0 {
			s.PendingByType[typ] = n
		}
	}
	for _, m := range ix.order {
		ms := ManagerStats{
			ID: m.id, Hostname: m.hello.Hostname, BlockID: m.hello.BlockID, PID: m.hello.PID,
			Workers: m.hello.Workers, Capacity: m.capacity, InFlight: len(m.inflight),
			Draining: m.draining, ContainerTypes: m.hello.ContainerTypes,
			ConnectedAt: m.connectedAt, IdleSince: m.idleSince,
			LastHeard: time.Unix(0, m.lastHeard.Load()),
			WarmHits:  m.status.WarmHits, ColdStarts: m.status.ColdStarts, Switches: m.status.Switches,
			Retired: m.status.Retired, StartFailures: m.status.StartFailures,
		}
		s.Routing.WarmHits += ms.WarmHits
		s.Routing.ColdStarts += ms.ColdStarts
		s.Routing.Switches += ms.Switches
		s.Routing.Retired += ms.Retired
		s.Routing.StartFailures += ms.StartFailures
		for _, t := range m.status.Types {
			ms.Containers = append(ms.Containers, ContainerStats(t))
		}
		s.Managers = append(s.Managers, ms)
	}
	return s
}
