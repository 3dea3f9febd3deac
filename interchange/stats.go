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
	Containers []ContainerStats
	WarmHits   int
	ColdStarts int
	Switches   int
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
		}
		for _, t := range m.status.Types {
			ms.Containers = append(ms.Containers, ContainerStats(t))
		}
		s.Managers = append(s.Managers, ms)
	}
	return s
}
