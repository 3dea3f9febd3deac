package broker

import (
	"testing"
	"time"

	"github.com/funcx-go/funcx"
)

func FuzzDecodeMessage(f *testing.F) {
	f.Add(TypeResults, EncodeResults([]funcx.Result{{TaskID: funcx.NewTaskID(), State: funcx.StateSuccess, Output: []byte("1")}}))
	f.Add(TypeHeartbeat, EncodeHeartbeat(Heartbeat{EndpointID: "e", Time: time.Unix(1, 0), Workers: 3}))
	f.Add(TypeTasks, EncodeTasks([]funcx.Task{{ID: funcx.NewTaskID(), Function: funcx.GoFunc("noop")}}))
	f.Add(TypeHeartbeat, EncodeHeartbeat(detailedHeartbeat()))
	f.Add(TypeHeartbeat, []byte(`{"endpoint_id":"e","managers":1,"workers":2,"outstanding":3}`)) // before details
	f.Add(TypeHeartbeat, []byte(`{"blocks":{"failed":1e9},"block_problems":[{}],"routing":{"managers":[{"containers":[{}]}]}}`))
	f.Add("junk", []byte("{"))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		m, err := DecodeMessage(typ, body)
		if err == nil && m.Results == nil && m.Heartbeat == nil && typ != TypeResults {
			t.Fatalf("decoded %q to an empty message", typ)
		}
		if err == nil && m.Heartbeat != nil {
			d := m.Heartbeat.HeartbeatDetail.Trim()
			if len(d.Blocks) > MaxBlockStates || len(d.BlockProblems) > MaxBlockProblems ||
				(d.BlockError != nil && len(d.BlockError.Message) > MaxDetailMessage) {
				t.Fatalf("trimmed detail out of bounds: %+v", d)
			}
			if r := d.Routing; r != nil {
				if len(r.Managers) > MaxRoutingManagers {
					t.Fatalf("%d managers after trim", len(r.Managers))
				}
				for _, mr := range r.Managers {
					if len(mr.Containers) > MaxManagerContainer || len(mr.Manager) > MaxDetailMessage {
						t.Fatalf("manager out of bounds after trim: %+v", mr)
					}
				}
			}
		}
		_, _ = DecodeTasks(typ, body)
	})
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	id := funcx.NewTaskID()
	m, err := DecodeMessage(TypeResults, EncodeResults([]funcx.Result{{TaskID: id, State: funcx.StateSuccess}}))
	if err != nil || len(m.Results) != 1 || m.Results[0].TaskID != id {
		t.Fatalf("results: %+v %v", m, err)
	}
	m, err = DecodeMessage(TypeHeartbeat, EncodeHeartbeat(Heartbeat{EndpointID: "e", Workers: 4}))
	if err != nil || m.Heartbeat.Workers != 4 {
		t.Fatalf("heartbeat: %+v %v", m, err)
	}
	tasks, err := DecodeTasks(TypeTasks, EncodeTasks([]funcx.Task{{ID: id, Function: funcx.GoFunc("noop")}}))
	if err != nil || tasks[0].ID != id {
		t.Fatalf("tasks: %v %v", tasks, err)
	}
	if _, err := DecodeTasks(TypeResults, nil); err == nil {
		t.Fatal("results accepted on a task queue")
	}
	if _, err := DecodeMessage("other", nil); err == nil {
		t.Fatal("unknown type accepted")
	}
}
