package brokerutil

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// ProcessBatch merges consecutive result messages of one endpoint, in
// order, hands heartbeats over alone, drops (and acks) what cannot be
// decoded, and settles a merged message's parts together.
func TestProcessBatch(t *testing.T) {
	ids := make([]funcx.TaskID, 5)
	for i := range ids {
		ids[i] = funcx.NewTaskID()
	}
	results := func(ids ...funcx.TaskID) Raw {
		rs := make([]funcx.Result, len(ids))
		for i, id := range ids {
			rs[i] = funcx.Result{TaskID: id, State: funcx.StateSuccess}
		}
		bodies, err := SplitResults(rs, 1<<20)
		if err != nil || len(bodies) != 1 {
			t.Fatalf("encode results: %d bodies, %v", len(bodies), err)
		}
		return Raw{Type: broker.TypeResults, Body: bodies[0]}
	}
	from := func(ep string, r Raw) Raw { r.EndpointID = ep; return r }
	heartbeat := Raw{EndpointID: "a", Type: broker.TypeHeartbeat, Body: broker.EncodeHeartbeat(broker.Heartbeat{EndpointID: "a"})}
	msgs := []Raw{
		from("a", results(ids[0])),
		from("a", results(ids[1], ids[2])),
		heartbeat,
		{EndpointID: "a", Type: broker.TypeResults, Body: []byte("garbage")},
		from("a", results(ids[3])),
		from("b", results(ids[4])), // fails
	}
	type call struct {
		ep        string
		ids       []funcx.TaskID
		heartbeat bool
	}
	var calls []call
	var malformed atomic.Uint64
	h := ResultHandler{
		Handle: func(_ context.Context, ep string, m broker.Message) error {
			c := call{ep: ep, heartbeat: m.Heartbeat != nil}
			for _, r := range m.Results {
				c.ids = append(c.ids, r.TaskID)
			}
			calls = append(calls, c)
			if ep == "b" {
				return errors.New("store down")
			}
			return nil
		},
		Logger:    slog.New(slog.DiscardHandler),
		Malformed: &malformed,
	}
	ack := make([]bool, len(msgs))
	h.ProcessBatch(context.Background(), msgs, ack)

	want := []call{
		{ep: "a", ids: ids[:3]},
		{ep: "a", heartbeat: true},
		{ep: "a", ids: ids[3:4]},
		{ep: "b", ids: ids[4:5]},
	}
	if !slices.EqualFunc(calls, want, func(a, b call) bool {
		return a.ep == b.ep && a.heartbeat == b.heartbeat && slices.Equal(a.ids, b.ids)
	}) {
		t.Errorf("Handle calls = %+v\nwant %+v", calls, want)
	}
	if wantAck := []bool{true, true, true, true, true, false}; !slices.Equal(ack, wantAck) {
		t.Errorf("ack = %v, want %v", ack, wantAck)
	}
	if malformed.Load() != 1 {
		t.Errorf("malformed = %d, want 1", malformed.Load())
	}
}
