package endpoint

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/provider"
)

// The heartbeat carries the engine's block and routing figures, from a
// synthetic EngineStatus: the mapping endpoint.Run sends every period.
func TestHeartbeatOf(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	st := EngineStatus{
		Interchange: interchange.Stats{
			Pending: 2, InFlight: 3,
			Managers: []interchange.ManagerStats{
				{ID: "m1", BlockID: "0", Workers: 4, WarmHits: 7, ColdStarts: 2, Switches: 1,
					Containers: []interchange.ContainerStats{{Container: "apptainer:/a.sif", Workers: 3, Idle: 1}, {Container: "", Workers: 1}}},
				{ID: "m2", BlockID: "1", Workers: 2}, // no container figures: left out
			},
			Routing: interchange.RoutingFigures{WarmHits: 7, ColdStarts: 2, Switches: 1},
		},
		Blocks: provider.Snapshot{
			Blocks: []provider.BlockSnapshot{
				{ID: "0", JobID: "41", State: provider.JobRunning, SubmittedAt: t0},
				{ID: "1", State: provider.JobFailed, Message: "submit block 1: sbatch: error: invalid account", SubmittedAt: t0, EndedAt: t0.Add(time.Second)},
				{ID: "2", JobID: "43", State: provider.JobPending, Message: "Priority", SubmittedAt: t0.Add(2 * time.Second)},
			},
			LastError: "submit block 1: sbatch: error: invalid account", LastErrorAt: t0.Add(time.Second),
		},
		BlocksByImage: map[string]provider.Snapshot{
			"img": {
				Blocks:    []provider.BlockSnapshot{{ID: "0", State: provider.JobFailed, Message: "exit 3", ExitCode: 3, SubmittedAt: t0, EndedAt: t0.Add(3 * time.Second)}},
				LastError: "poll block states: squeue: timeout", LastErrorAt: t0.Add(3 * time.Second),
			},
		},
	}
	now := t0.Add(time.Minute)
	got := heartbeatOf("ep", st, now)
	want := broker.Heartbeat{EndpointID: "ep", Time: now, Managers: 2, Workers: 6, Outstanding: 5, HeartbeatDetail: broker.HeartbeatDetail{
		Blocks:     map[string]int{"running": 1, "failed": 2, "pending": 1},
		BlockError: &broker.BlockError{Message: "poll block states: squeue: timeout", Time: t0.Add(3 * time.Second), Image: "img"},
		BlockProblems: []broker.BlockProblem{
			{Block: "1", State: "failed", Message: "submit block 1: sbatch: error: invalid account", Time: t0.Add(time.Second)},
			{Block: "2", JobID: "43", State: "pending", Message: "Priority", Time: t0.Add(2 * time.Second)},
			{Block: "0", Image: "img", State: "failed", Message: "exit 3", ExitCode: 3, Time: t0.Add(3 * time.Second)},
		},
		Routing: &broker.Routing{
			Total: broker.RoutingFigures{WarmHits: 7, ColdStarts: 2, Switches: 1},
			Managers: []broker.ManagerRouting{{Manager: "m1", Block: "0", RoutingFigures: broker.RoutingFigures{WarmHits: 7, ColdStarts: 2, Switches: 1},
				Containers: []broker.ContainerWorkers{{Container: "apptainer:/a.sif", Workers: 3, Idle: 1}, {Container: "", Workers: 1}}}},
		},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("heartbeat:\n got %+v\nwant %+v", got, want)
	}
}

// An engine without blocks problems or containers sends no detail, and
// one with many failed blocks sends the newest few.
func TestHeartbeatOfBounds(t *testing.T) {
	t.Parallel()
	if hb := heartbeatOf("ep", EngineStatus{}, time.Now()); !reflect.DeepEqual(hb.HeartbeatDetail, broker.HeartbeatDetail{}) {
		t.Fatalf("idle engine sent %+v", hb.HeartbeatDetail)
	}
	t0 := time.Now()
	var s provider.Snapshot
	for i := range 30 {
		s.Blocks = append(s.Blocks, provider.BlockSnapshot{ID: fmt.Sprint(i), State: provider.JobFailed, Message: "refused", EndedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	hb := heartbeatOf("ep", EngineStatus{Blocks: s}, t0)
	if n := len(hb.BlockProblems); n != broker.MaxBlockProblems || hb.BlockProblems[n-1].Block != "29" || hb.Blocks["failed"] != 30 {
		t.Fatalf("got %d problems, the last %+v; blocks %v", n, hb.BlockProblems[n-1], hb.Blocks)
	}
}
