package service_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// The latest heartbeat's detail (blocks, the scheduler's last error,
// routing figures) reaches the owner's endpoint status and list, bounded,
// and no one else's.
func TestHeartbeatDetailInStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.registerEndpoint(t, b.alice)
	at := time.Date(2025, 1, 2, 3, 0, 0, 0, time.FixedZone("x", 3600))
	msg := "submit block 1: sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"
	b.broker.deliver(t, ep, broker.Message{Heartbeat: &broker.Heartbeat{Managers: 1, Workers: 2, HeartbeatDetail: broker.HeartbeatDetail{
		Blocks:        map[string]int{"running": 1, "failed": 1},
		BlockError:    &broker.BlockError{Message: msg, Time: at},
		BlockProblems: []broker.BlockProblem{{Block: "1", State: "failed", Message: msg, Time: at}},
		Routing: &broker.Routing{Total: broker.RoutingFigures{WarmHits: 9, ColdStarts: 2, Switches: 1},
			Managers: []broker.ManagerRouting{{Manager: "m1", Block: "0", RoutingFigures: broker.RoutingFigures{WarmHits: 9, ColdStarts: 2, Switches: 1},
				Containers: []broker.ContainerWorkers{{Container: "apptainer:/a.sif", Workers: 2, Idle: 1}}}}},
	}}})
	want := api.EndpointStatus{
		Blocks:        map[string]int{"running": 1, "failed": 1},
		BlockError:    &api.BlockError{Message: msg, Time: at.UTC()},
		BlockProblems: []api.BlockProblem{{Block: "1", State: "failed", Message: msg, Time: at.UTC()}},
		Routing: &api.Routing{Total: api.RoutingFigures{WarmHits: 9, ColdStarts: 2, Switches: 1},
			Managers: []api.ManagerRouting{{Manager: "m1", Block: "0", RoutingFigures: api.RoutingFigures{WarmHits: 9, ColdStarts: 2, Switches: 1},
				Containers: []api.ContainerWorkers{{Container: "apptainer:/a.sif", Workers: 2, Idle: 1}}}}},
	}
	detail := func(st api.EndpointStatus) api.EndpointStatus {
		return api.EndpointStatus{Blocks: st.Blocks, BlockError: st.BlockError, BlockProblems: st.BlockProblems, Routing: st.Routing}
	}

	var st api.EndpointStatus
	b.mustDo(t, "GET", api.PathEndpoint+ep, b.alice.token, nil, &st)
	if got := detail(st); !reflect.DeepEqual(got, want) || st.Workers != 2 {
		t.Fatalf("status detail:\n got %+v\nwant %+v", got, want)
	}
	var list api.EndpointList
	b.mustDo(t, "GET", api.PathEndpoints, b.alice.token, nil, &list)
	if len(list.Endpoints) != 1 || !reflect.DeepEqual(detail(list.Endpoints[0]), want) {
		t.Fatalf("list: %+v", list)
	}

	t.Run("only the owner sees it", func(t *testing.T) {
		code, body := b.do(t, "GET", api.PathEndpoint+ep, b.bob.token, nil)
		if code != http.StatusNotFound || strings.Contains(string(body), "sbatch") {
			t.Fatalf("bob reads alice's endpoint: %d %s", code, body)
		}
		code, body = b.do(t, "GET", api.PathEndpoints, b.bob.token, nil)
		if code != http.StatusOK || strings.Contains(string(body), ep) || strings.Contains(string(body), "sbatch") {
			t.Fatalf("bob's list: %d %s", code, body)
		}
		if code, _ := b.do(t, "GET", api.PathEndpoint+ep, "", nil); code != http.StatusUnauthorized {
			t.Fatalf("no token: %d", code)
		}
	})

	t.Run("bounded whatever the endpoint sends", func(t *testing.T) {
		d := broker.HeartbeatDetail{BlockError: &broker.BlockError{Message: strings.Repeat("x", 100_000)}}
		for i := range 50 {
			d.BlockProblems = append(d.BlockProblems, broker.BlockProblem{Block: fmt.Sprint(i), State: "failed", Message: "refused"})
		}
		b.broker.deliver(t, ep, broker.Message{Heartbeat: &broker.Heartbeat{HeartbeatDetail: d}})
		var st api.EndpointStatus
		b.mustDo(t, "GET", api.PathEndpoint+ep, b.alice.token, nil, &st)
		if len(st.BlockProblems) != broker.MaxBlockProblems || st.BlockProblems[0].Block != "40" || len(st.BlockError.Message) > broker.MaxDetailMessage {
			t.Fatalf("got %d problems from %q, a %d-byte error", len(st.BlockProblems), st.BlockProblems[0].Block, len(st.BlockError.Message))
		}
	})

	t.Run("a heartbeat without detail clears it", func(t *testing.T) {
		b.broker.deliver(t, ep, broker.Message{Heartbeat: &broker.Heartbeat{Workers: 3}})
		code, body := b.do(t, "GET", api.PathEndpoint+ep, b.alice.token, nil)
		if code != http.StatusOK || strings.Contains(string(body), "block") || strings.Contains(string(body), "routing") {
			t.Fatalf("after a plain heartbeat: %d %s", code, body)
		}
	})
}
