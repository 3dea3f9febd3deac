package broker

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func detailedHeartbeat() Heartbeat {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return Heartbeat{EndpointID: "e", Time: at, Managers: 1, Workers: 4, HeartbeatDetail: HeartbeatDetail{
		Blocks:        map[string]int{"running": 1, "failed": 2},
		BlockError:    &BlockError{Message: "submit block 2: sbatch: error: invalid account", Time: at},
		BlockProblems: []BlockProblem{{Block: "2", State: "failed", Message: "submit block 2: sbatch: error: invalid account", Time: at}},
		Routing: &Routing{Total: RoutingFigures{WarmHits: 5, ColdStarts: 2, Switches: 1},
			Managers: []ManagerRouting{{Manager: "m1", Block: "0", RoutingFigures: RoutingFigures{WarmHits: 5, ColdStarts: 2, Switches: 1},
				Containers: []ContainerWorkers{{Container: "docker:a", Workers: 2, Idle: 1}}}}},
	}}
}

func TestHeartbeatDetailRoundTrip(t *testing.T) {
	t.Parallel()
	hb := detailedHeartbeat()
	m, err := DecodeMessage(TypeHeartbeat, EncodeHeartbeat(hb))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*m.Heartbeat, hb) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", *m.Heartbeat, hb)
	}
	// The detail's fields sit at the top level of the JSON.
	if b := string(EncodeHeartbeat(hb)); !strings.Contains(b, `"block_error":{"message":"submit block 2`) || !strings.Contains(b, `"warm_hits":5`) {
		t.Fatalf("encoding: %s", b)
	}
}

// A heartbeat of an endpoint from before the detail decodes, without it;
// one without detail encodes as before.
func TestHeartbeatWithoutDetail(t *testing.T) {
	t.Parallel()
	m, err := DecodeMessage(TypeHeartbeat, []byte(`{"endpoint_id":"e","time":"2026-11-26T10:00:00Z","managers":2,"workers":8,"outstanding":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if hb := m.Heartbeat; hb.Workers != 8 || !reflect.DeepEqual(hb.HeartbeatDetail, HeartbeatDetail{}) {
		t.Fatalf("old heartbeat: %+v", hb)
	}
	if b := string(EncodeHeartbeat(Heartbeat{EndpointID: "e"})); strings.Contains(b, "block") || strings.Contains(b, "routing") {
		t.Fatalf("empty detail encoded: %s", b)
	}
}

func TestHeartbeatDetailTrim(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxDetailMessage) // two bytes each
	d := HeartbeatDetail{BlockError: &BlockError{Message: long}, Routing: &Routing{}}
	for i := range MaxBlockProblems + 5 {
		d.BlockProblems = append(d.BlockProblems, BlockProblem{Block: string(rune('a' + i)), Message: long})
	}
	for range MaxRoutingManagers + 1 {
		d.Routing.Managers = append(d.Routing.Managers, ManagerRouting{Manager: "m", Containers: make([]ContainerWorkers, MaxManagerContainer+1)})
	}
	got := d.Trim()
	if n := len(got.BlockProblems); n != MaxBlockProblems || got.BlockProblems[0].Block != "f" {
		t.Fatalf("kept %d problems from %q, want the newest %d", n, got.BlockProblems[0].Block, MaxBlockProblems)
	}
	if m := got.BlockError.Message; len(m) > MaxDetailMessage || !utf8.ValidString(m) || !strings.HasSuffix(m, "…") {
		t.Fatalf("message cut to %d bytes, valid %v", len(m), utf8.ValidString(m))
	}
	if len(got.Routing.Managers) != MaxRoutingManagers || len(got.Routing.Managers[0].Containers) != MaxManagerContainer {
		t.Fatalf("routing not bounded: %d managers", len(got.Routing.Managers))
	}
	// The original is untouched.
	if len(d.BlockError.Message) != len(long) || len(d.BlockProblems[14].Message) != len(long) || len(d.Routing.Managers[0].Containers) != MaxManagerContainer+1 {
		t.Fatal("Trim modified its receiver")
	}
}
