package brokerutil

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// fakeMsg is a delivery whose ack is recorded.
type fakeMsg struct {
	acked int
	gone  chan struct{}
}

// dispatchBundle is a dispatcher with a recording handler that fails for
// the task IDs in fail (or every message while down is set).
type dispatchBundle struct {
	d     *dispatcher
	stats Stats
	calls []call
	fail  map[funcx.TaskID]bool
	down  bool
}

type call struct {
	ep        string
	ids       []funcx.TaskID
	heartbeat bool
}

func newDispatch(poisonAfter int) *dispatchBundle {
	b := &dispatchBundle{fail: map[funcx.TaskID]bool{}}
	b.d = &dispatcher{
		handle: func(_ context.Context, ep string, m broker.Message) error {
			c := call{ep: ep, heartbeat: m.Heartbeat != nil}
			failed := b.down
			for _, r := range m.Results {
				c.ids = append(c.ids, r.TaskID)
				failed = failed || b.fail[r.TaskID]
			}
			b.calls = append(b.calls, c)
			if failed {
				return errors.New("store failed")
			}
			return nil
		},
		log:         slog.New(slog.DiscardHandler),
		stats:       &b.stats,
		retry:       Backoff{Min: time.Second, Max: 4 * time.Second},
		poisonAfter: poisonAfter,
		held:        map[string]*hold{},
	}
	return b
}

func results(t *testing.T, ep string, ids ...funcx.TaskID) (Delivery, *fakeMsg) {
	t.Helper()
	rs := make([]funcx.Result, len(ids))
	for i, id := range ids {
		rs[i] = funcx.Result{TaskID: id, State: funcx.StateSuccess}
	}
	bodies, err := SplitResults(rs, 1<<20)
	if err != nil || len(bodies) != 1 {
		t.Fatalf("encode results: %d bodies, %v", len(bodies), err)
	}
	return raw(ep, broker.TypeResults, bodies[0])
}

func raw(ep, typ string, body []byte) (Delivery, *fakeMsg) {
	m := &fakeMsg{gone: make(chan struct{})}
	return Delivery{EndpointID: ep, Type: typ, Body: body, Gone: m.gone, Ack: func() error { m.acked++; return nil }}, m
}

func taskIDs(n int) []funcx.TaskID {
	ids := make([]funcx.TaskID, n)
	for i := range ids {
		ids[i] = funcx.NewTaskID()
	}
	return ids
}

func (b *dispatchBundle) takeCalls() []call {
	c := b.calls
	b.calls = nil
	return c
}

func sameCalls(t *testing.T, got, want []call) {
	t.Helper()
	if !slices.EqualFunc(got, want, func(a, b call) bool {
		return a.ep == b.ep && a.heartbeat == b.heartbeat && slices.Equal(a.ids, b.ids)
	}) {
		t.Errorf("Handle calls = %+v\nwant %+v", got, want)
	}
}

// Consecutive result messages of one endpoint are merged, in order;
// heartbeats go alone; what cannot be decoded is dropped, acked and
// counted.
func TestDispatchMerges(t *testing.T) {
	b := newDispatch(3)
	ids := taskIDs(5)
	var batch []Delivery
	var msgs []*fakeMsg
	add := func(d Delivery, m *fakeMsg) { batch, msgs = append(batch, d), append(msgs, m) }
	add(results(t, "a", ids[0]))
	add(results(t, "a", ids[1], ids[2]))
	add(raw("a", broker.TypeHeartbeat, broker.EncodeHeartbeat(broker.Heartbeat{EndpointID: "a"})))
	add(raw("a", broker.TypeResults, []byte("garbage")))
	add(results(t, "a", ids[3]))
	add(results(t, "b", ids[4]))
	b.d.process(t.Context(), batch)
	sameCalls(t, b.takeCalls(), []call{
		{ep: "a", ids: ids[:3]},
		{ep: "a", heartbeat: true},
		{ep: "a", ids: ids[3:4]},
		{ep: "b", ids: ids[4:5]},
	})
	for i, m := range msgs {
		if m.acked != 1 {
			t.Errorf("message %d acked %d times, want once", i, m.acked)
		}
	}
	if n := b.stats.Errors(broker.ReasonMalformed); n != 1 {
		t.Errorf("malformed = %d, want 1", n)
	}
}

// A failed message is held, not acked, and tried again alone once its
// endpoint's backoff is due, while other messages go on; one that keeps
// failing while others succeed is dropped after poisonAfter attempts.
func TestDispatchHoldsAndPoisons(t *testing.T) {
	b := newDispatch(3)
	ids := taskIDs(4)
	b.fail[ids[0]] = true
	bad, badMsg := results(t, "a", ids[0])
	good, goodMsg := results(t, "a", ids[1])
	b.d.process(t.Context(), []Delivery{bad, good})
	sameCalls(t, b.takeCalls(), []call{{ep: "a", ids: ids[:2]}})
	if badMsg.acked+goodMsg.acked != 0 || len(b.d.held["a"].msgs) != 2 {
		t.Fatalf("after a failed merge: acked %d %d, held %+v", badMsg.acked, goodMsg.acked, b.d.held["a"])
	}
	// Another endpoint, and later messages of the same, are not held up.
	other, otherMsg := results(t, "b", ids[2])
	later, laterMsg := results(t, "a", ids[3])
	b.d.process(t.Context(), []Delivery{other, later})
	sameCalls(t, b.takeCalls(), []call{{ep: "b", ids: ids[2:3]}, {ep: "a", ids: ids[3:4]}})
	if otherMsg.acked != 1 || laterMsg.acked != 1 {
		t.Fatal("messages behind a held one were not handled")
	}

	due := b.d.held["a"].due
	b.d.retryDue(t.Context(), due.Add(-time.Millisecond))
	if len(b.takeCalls()) != 0 {
		t.Fatal("held messages retried before they were due")
	}
	b.d.retryDue(t.Context(), due)
	sameCalls(t, b.takeCalls(), []call{{ep: "a", ids: ids[:1]}, {ep: "a", ids: ids[1:2]}})
	if goodMsg.acked != 1 || badMsg.acked != 0 {
		t.Fatalf("after the first retry: good acked %d, bad acked %d", goodMsg.acked, badMsg.acked)
	}
	if next := b.d.held["a"].due; next.Sub(due) < time.Second {
		t.Errorf("next retry %s after the last, want a growing backoff", next.Sub(due))
	}
	b.d.retryDue(t.Context(), b.d.held["a"].due) // third attempt: poisoned
	if badMsg.acked != 1 || b.d.held["a"] != nil || b.stats.Errors(broker.ReasonPoisoned) != 1 {
		t.Fatalf("after poisonAfter attempts: acked %d, held %+v, poisoned %d", badMsg.acked, b.d.held["a"], b.stats.Errors(broker.ReasonPoisoned))
	}
}

// While every message fails (the store is down), none is dropped,
// however many attempts; a message whose consumer ended is let go, for
// the broker delivers it again.
func TestDispatchDropsNothingWhileAllFail(t *testing.T) {
	b := newDispatch(2)
	b.down = true
	ids := taskIDs(2)
	m1, f1 := results(t, "a", ids[0])
	m2, f2 := results(t, "b", ids[1])
	b.d.process(t.Context(), []Delivery{m1, m2})
	b.takeCalls()
	now := time.Now()
	for range 10 {
		now = now.Add(time.Minute)
		b.d.retryDue(t.Context(), now)
	}
	if n := len(b.takeCalls()); n != 20 {
		t.Fatalf("%d attempts in 10 due rounds of 2 held messages, want 20", n)
	}
	if f1.acked+f2.acked != 0 || b.stats.Errors(broker.ReasonPoisoned) != 0 {
		t.Fatalf("acked %d %d, poisoned %d, want none while every message fails", f1.acked, f2.acked, b.stats.Errors(broker.ReasonPoisoned))
	}
	close(f2.gone)
	b.down = false
	b.d.retryDue(t.Context(), now.Add(time.Minute))
	sameCalls(t, b.takeCalls(), []call{{ep: "a", ids: ids[:1]}})
	if f1.acked != 1 || f2.acked != 0 || len(b.d.held) != 0 {
		t.Fatalf("after recovery: acked %d %d, held %v", f1.acked, f2.acked, b.d.held)
	}
}

// Stats knows every reason of broker.Reasons.
func TestStatsReasons(t *testing.T) {
	var s Stats
	if !slices.Equal(reasons[:], broker.Reasons) {
		t.Fatalf("reasons %v, want broker.Reasons %v", reasons, broker.Reasons)
	}
	for i, r := range broker.Reasons {
		for range i + 1 {
			s.Count(r)
		}
	}
	s.Count("something else") // counted as connection
	st := s.Snapshot(3)
	for i, r := range broker.Reasons {
		want := uint64(i + 1)
		if r == broker.ReasonConnection {
			want++
		}
		if st.Errors[r] != want {
			t.Errorf("%s: %d, want %d", r, st.Errors[r], want)
		}
	}
	if st.Endpoints != 3 || st.Unconsumed != 3 {
		t.Errorf("snapshot %+v, want 3 endpoints, none consumed", st)
	}
}

// Add with wake closes the wake channel of an endpoint present; RemoveIf
// removes only if it was not added again with wake since.
func TestRegistry(t *testing.T) {
	r := NewRegistry()
	_, changed := r.Snapshot()
	r.Add(false, "a")
	select {
	case <-changed:
	default:
		t.Fatal("adding an endpoint did not signal a change")
	}
	w := r.Wake("a")
	r.Add(false, "a")
	select {
	case <-w:
		t.Fatal("Resume of a present endpoint woke it")
	default:
	}
	r.Add(true, "a")
	select {
	case <-w:
	default:
		t.Fatal("EnsureEndpoint of a present endpoint did not wake it")
	}
	if r.RemoveIf("a", w) {
		t.Fatal("RemoveIf removed an endpoint added again since")
	}
	if !r.RemoveIf("a", r.Wake("a")) || r.Len() != 0 || r.Wake("a") != nil {
		t.Fatal("RemoveIf did not remove")
	}
}
