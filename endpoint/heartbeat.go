package endpoint

import (
	"maps"
	"slices"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/provider"
)

// heartbeatOf is the heartbeat an engine in state st sends: its load, and
// the detail a status display needs to say why (blocks by state, the
// scheduler's last error, the blocks with a message, routing figures),
// within the bounds of broker.HeartbeatDetail.Trim.
func heartbeatOf(endpointID string, st EngineStatus, now time.Time) broker.Heartbeat {
	ix := st.Interchange
	hb := broker.Heartbeat{EndpointID: endpointID, Time: now, Managers: len(ix.Managers), Outstanding: ix.Pending + ix.InFlight}
	for _, m := range ix.Managers {
		hb.Workers += m.Workers
	}
	d := &hb.HeartbeatDetail
	addBlocks(d, "", st.Blocks)
	for _, image := range slices.Sorted(maps.Keys(st.BlocksByImage)) {
		addBlocks(d, image, st.BlocksByImage[image])
	}
	// Newest last, so that Trim keeps the newest.
	slices.SortStableFunc(d.BlockProblems, func(a, b broker.BlockProblem) int { return a.Time.Compare(b.Time) })
	d.Routing = routingOf(ix)
	hb.HeartbeatDetail = hb.HeartbeatDetail.Trim()
	return hb
}

// addBlocks adds one block manager's snapshot (image is empty for the
// endpoint's own blocks) to d.
func addBlocks(d *broker.HeartbeatDetail, image string, s provider.Snapshot) {
	for _, b := range s.Blocks {
		if d.Blocks == nil {
			d.Blocks = make(map[string]int)
		}
		d.Blocks[b.State.String()]++
		if b.Message == "" {
			continue
		}
		at := b.EndedAt
		if at.IsZero() {
			at = b.SubmittedAt
		}
		d.BlockProblems = append(d.BlockProblems, broker.BlockProblem{
			Block: b.ID, Image: image, JobID: string(b.JobID), State: b.State.String(),
			Message: b.Message, ExitCode: b.ExitCode, Time: at,
		})
	}
	if s.LastError != "" && (d.BlockError == nil || s.LastErrorAt.After(d.BlockError.Time)) {
		d.BlockError = &broker.BlockError{Message: s.LastError, Time: s.LastErrorAt, Image: image}
	}
}

// routingOf returns the routing figures of the connected managers; nil
// if none of them reports a container (no container routing at work).
func routingOf(ix interchange.Stats) *broker.Routing {
	r := &broker.Routing{Total: broker.RoutingFigures(ix.Routing)}
	for _, m := range ix.Managers {
		f := broker.RoutingFigures{WarmHits: m.WarmHits, ColdStarts: m.ColdStarts, Switches: m.Switches, Retired: m.Retired, StartFailures: m.StartFailures}
		if len(m.Containers) == 0 && f == (broker.RoutingFigures{}) {
			continue
		}
		mr := broker.ManagerRouting{Manager: m.ID, Block: m.BlockID, RoutingFigures: f}
		for _, c := range m.Containers {
			mr.Containers = append(mr.Containers, broker.ContainerWorkers(c))
		}
		r.Managers = append(r.Managers, mr)
	}
	if len(r.Managers) == 0 && r.Total == (broker.RoutingFigures{}) {
		return nil
	}
	return r
}
