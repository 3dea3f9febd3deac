package brokertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// Run runs the conformance suite against env, each check a parallel
// subtest with its own Service.
func Run(t *testing.T, env Env) {
	env = env.withDefaults(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, setup(t, env))
		})
	}
}

var cases = []struct {
	name string
	run  func(*testing.T, *bundle)
}{
	{"TasksArriveInOrder", testTasksArriveInOrder},
	{"UnknownEndpointRefused", testUnknownEndpointRefused},
	{"BadEndpointIDRefused", testBadEndpointIDRefused},
	{"UnackedRedeliveredAfterClose", testUnackedRedeliveredAfterClose},
	{"NackRequeues", testNackRequeues},
	{"SettleTwiceFails", testSettleTwiceFails},
	{"AckAfterCloseFails", testAckAfterCloseFails},
	{"PrefetchBound", testPrefetchBound},
	{"ResultsAndHeartbeats", testResultsAndHeartbeats},
	{"HandlerErrorRequeues", testHandlerErrorRequeues},
	{"OtherEndpointQueueRefused", testOtherEndpointQueueRefused},
	{"OtherEndpointExchangeRefused", testOtherEndpointExchangeRefused},
	{"WrongPasswordRefused", testWrongPasswordRefused},
	{"RotatedPasswordRefused", testRotatedPasswordRefused},
	{"DeleteEndpointRemovesAccess", testDeleteEndpointRemovesAccess},
	{"LargeBatchesSplit", testLargeBatchesSplit},
	{"OversizedItemRefused", testOversizedItemRefused},
	{"ConcurrentPublishers", testConcurrentPublishers},
	{"MalformedTasksDropped", testMalformedTasksDropped},
	{"MalformedResultsDropped", testMalformedResultsDropped},
	{"CloseIdempotent", testCloseIdempotent},
	{"ResumeOnAnotherService", testResumeOnAnotherService},
	{"LockedQueueIsolated", testLockedQueueIsolated},
	{"PoisonedMessageDropped", testPoisonedMessageDropped},
	{"FailingHandlerDropsNothing", testFailingHandlerDropsNothing},
	{"StopDeliveriesKeepsConnection", testStopDeliveriesKeepsConnection},
}

func testTasksArriveInOrder(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	var want []funcx.Task
	for i := 1; i <= 6; i++ {
		batch := newTasks(i, fmt.Sprint("batch", i))
		b.publish(t, id, batch)
		want = append(want, batch...)
	}
	if err := b.svc.PublishTasks(b.ctx(t), id, nil); err != nil {
		t.Fatalf("PublishTasks of no tasks: %v", err)
	}
	got, deliveries := b.recvTasks(t, c, len(want))
	sameTasks(t, got, want)
	if deliveries != 6 {
		t.Errorf("%d deliveries, want one per batch (6)", deliveries)
	}
	b.quiet(t, c)
}

func testUnknownEndpointRefused(t *testing.T, b *bundle) {
	err := b.svc.PublishTasks(b.ctx(t), b.env.EndpointID(t), newTasks(1, "lost"))
	if !errors.Is(err, broker.ErrUnknownEndpoint) {
		t.Fatalf("PublishTasks to an endpoint never set up: %v, want broker.ErrUnknownEndpoint", err)
	}
}

func testBadEndpointIDRefused(t *testing.T, b *bundle) {
	for _, id := range []string{"", "a.b", "a/b", "a b", "é"} {
		if _, err := b.svc.EnsureEndpoint(b.ctx(t), id); err == nil {
			t.Errorf("EnsureEndpoint(%q) succeeded, want an error", id)
			_ = b.svc.DeleteEndpoint(b.ctx(t), id)
		}
	}
}

func testUnackedRedeliveredAfterClose(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	batches := [][]funcx.Task{newTasks(2, "a"), newTasks(3, "b"), newTasks(1, "c")}
	for _, batch := range batches {
		b.publish(t, id, batch)
	}
	c1, err := b.env.Dial(b.ctx(t), b.svc, creds)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	first := b.recv(t, c1)
	sameTasks(t, first.Tasks, batches[0])
	if err := first.Ack(); err != nil {
		t.Fatalf("ack: %v", err)
	}
	sameTasks(t, b.recv(t, c1).Tasks, batches[1])
	sameTasks(t, b.recv(t, c1).Tasks, batches[2])
	// An endpoint that dies before journaling loses nothing: the two
	// unacked batches come back, in order; the acked one never does.
	if err := c1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	c2 := b.dial(t, creds)
	got, _ := b.recvTasks(t, c2, 4)
	sameTasks(t, got, append(append([]funcx.Task(nil), batches[1]...), batches[2]...))
	b.quiet(t, c2)
}

func testNackRequeues(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	want := newTasks(3, "nack")
	b.publish(t, id, want)
	if err := b.recv(t, c).Nack(); err != nil {
		t.Fatalf("nack: %v", err)
	}
	got, _ := b.recvTasks(t, c, 3)
	sameTasks(t, got, want)
	b.quiet(t, c)
}

func testSettleTwiceFails(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	b.publish(t, id, newTasks(1, "twice"))
	d := b.recv(t, c)
	if err := d.Ack(); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := d.Ack(); err == nil {
		t.Error("second Ack succeeded, want an error")
	}
	if err := d.Nack(); err == nil {
		t.Error("Nack after Ack succeeded, want an error")
	}
	// The connection survives the mistake.
	want := newTasks(1, "after")
	b.publish(t, id, want)
	got, _ := b.recvTasks(t, c, 1)
	sameTasks(t, got, want)
}

func testAckAfterCloseFails(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	want := newTasks(2, "late")
	b.publish(t, id, want)
	c1, err := b.env.Dial(b.ctx(t), b.svc, creds)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	d := b.recv(t, c1)
	_ = c1.Close()
	if err := d.Ack(); err == nil {
		t.Error("Ack after Close succeeded, want an error")
	}
	c2 := b.dial(t, creds)
	got, _ := b.recvTasks(t, c2, 2)
	sameTasks(t, got, want)
}

func testPrefetchBound(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	n := b.env.Prefetch
	for i := range n + 2 {
		b.publish(t, id, newTasks(1, fmt.Sprint("p", i)))
	}
	c := b.dial(t, creds)
	held := make([]broker.Delivery, 0, n+2)
	for range n {
		held = append(held, b.recv(t, c))
	}
	b.quiet(t, c)
	if err := held[0].Ack(); err != nil {
		t.Fatalf("ack: %v", err)
	}
	held = append(held, b.recv(t, c))
	b.quiet(t, c)
	for _, d := range held[1:] {
		if err := d.Ack(); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	b.recvTasks(t, c, 1)
	b.quiet(t, c)
}

func testResultsAndHeartbeats(t *testing.T, b *bundle) {
	results := b.consume(t, nil)
	idA, credsA := b.endpoint(t)
	a := b.dial(t, credsA)
	wantA := resultsFor(newTasks(3, "a"))
	if err := a.PublishResults(b.ctx(t), wantA); err != nil {
		t.Fatalf("publish results: %v", err)
	}
	hb := broker.Heartbeat{EndpointID: idA, Time: time.Unix(1700000000, 5).UTC(), Managers: 2, Workers: 8, Outstanding: 3, Version: "test"}
	if err := a.PublishHeartbeat(b.ctx(t), hb); err != nil {
		t.Fatalf("publish heartbeat: %v", err)
	}
	if err := a.PublishResults(b.ctx(t), nil); err != nil {
		t.Fatalf("publish no results: %v", err)
	}
	// An endpoint set up while ConsumeResults runs is consumed too.
	idB, credsB := b.endpoint(t)
	wantB := resultsFor(newTasks(2, "b"))
	if err := b.dial(t, credsB).PublishResults(b.ctx(t), wantB); err != nil {
		t.Fatalf("publish results: %v", err)
	}

	byEndpoint := map[string][]broker.Message{}
	for range 3 {
		g := b.next(t, results)
		byEndpoint[g.endpointID] = append(byEndpoint[g.endpointID], g.m)
	}
	b.nothingMore(t, results)
	if ms := byEndpoint[idA]; len(ms) != 2 || ms[1].Heartbeat == nil {
		t.Fatalf("endpoint A: %d messages %+v, want results then a heartbeat", len(ms), ms)
	}
	sameResults(t, byEndpoint[idA][0].Results, wantA)
	if got := *byEndpoint[idA][1].Heartbeat; !got.Time.Equal(hb.Time) || got.Workers != 8 || got.EndpointID != idA || got.Version != "test" {
		t.Errorf("heartbeat: got %+v, want %+v", got, hb)
	}
	if ms := byEndpoint[idB]; len(ms) != 1 {
		t.Fatalf("endpoint B: %d messages, want 1", len(ms))
	}
	sameResults(t, byEndpoint[idB][0].Results, wantB)
	st := b.svc.ConsumerStats()
	if st.Endpoints != 2 || st.Unconsumed != 0 {
		t.Errorf("ConsumerStats() = %+v, want 2 endpoints, all consumed", st)
	}
	for _, r := range broker.Reasons {
		if _, ok := st.Errors[r]; !ok {
			t.Errorf("ConsumerStats().Errors has no %q", r)
		}
	}
}

func testHandlerErrorRequeues(t *testing.T, b *bundle) {
	g := guard{seen: map[funcx.TaskID]int{}}
	results := b.consume(t, func(_ string, m broker.Message) error {
		g.mu.Lock()
		defer g.mu.Unlock()
		id := m.Results[0].TaskID
		g.seen[id]++
		if g.seen[id] <= 2 {
			return errors.New("store unavailable")
		}
		return nil
	})
	_, creds := b.endpoint(t)
	want := resultsFor(newTasks(2, "retry"))
	if err := b.dial(t, creds).PublishResults(b.ctx(t), want); err != nil {
		t.Fatalf("publish results: %v", err)
	}
	sameResults(t, b.next(t, results).m.Results, want)
	b.nothingMore(t, results)
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := g.seen[want[0].TaskID]; n != 3 {
		t.Errorf("handler saw the message %d times, want 3 (two failures, one success)", n)
	}
}

func testOtherEndpointQueueRefused(t *testing.T, b *bundle) {
	_, credsA := b.endpoint(t)
	idB, credsB := b.endpoint(t)
	b.publish(t, idB, newTasks(1, "for-b"))
	stolen := credsA
	stolen.TaskQueue = credsB.TaskQueue
	c, err := b.env.Dial(b.ctx(t), b.svc, stolen)
	if err == nil {
		_ = c.Close()
	}
	refused(t, "consume another endpoint's task queue", err)
	// B still gets its task.
	b.recvTasks(t, b.dial(t, credsB), 1)
}

func testOtherEndpointExchangeRefused(t *testing.T, b *bundle) {
	_, credsA := b.endpoint(t)
	_, credsB := b.endpoint(t)
	results := b.consume(t, nil)
	forged := credsA
	forged.ResultExchange = credsB.ResultExchange
	c := b.dial(t, forged)
	err := c.PublishResults(b.ctx(t), resultsFor(newTasks(1, "forged")))
	refused(t, "publish to another endpoint's results exchange", err)
	// As on RabbitMQ, where the refusal closes the channel, the
	// connection ends.
	b.waitDone(t, c)
	if c.Err() == nil {
		t.Error("Err() is nil after the connection ended")
	}
	b.nothingMore(t, results)
}

func testWrongPasswordRefused(t *testing.T, b *bundle) {
	_, creds := b.endpoint(t)
	wrong := creds
	wrong.Password += "x"
	_, err := b.env.Dial(b.ctx(t), b.svc, wrong)
	refused(t, "dial with a wrong password", err)
	stranger := creds
	stranger.Username = "funcx-ep-nobody-" + b.env.EndpointID(t)
	_, err = b.env.Dial(b.ctx(t), b.svc, stranger)
	refused(t, "dial as an unknown user", err)
}

func testRotatedPasswordRefused(t *testing.T, b *bundle) {
	id, old := b.endpoint(t)
	fresh, err := b.svc.EnsureEndpoint(b.ctx(t), id)
	if err != nil {
		t.Fatalf("EnsureEndpoint again: %v", err)
	}
	if fresh.Password == old.Password || fresh.Username != old.Username || fresh.TaskQueue != old.TaskQueue {
		t.Fatalf("EnsureEndpoint again: %+v, want the same user and queue with a new password", fresh)
	}
	_, err = b.env.Dial(b.ctx(t), b.svc, old)
	refused(t, "dial with a rotated password", err)
	want := newTasks(1, "rotated")
	b.publish(t, id, want)
	got, _ := b.recvTasks(t, b.dial(t, fresh), 1)
	sameTasks(t, got, want)
}

func testDeleteEndpointRemovesAccess(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	// A delivery waits unread: the connection must end all the same.
	b.publish(t, id, newTasks(1, "unread"))
	if err := b.svc.DeleteEndpoint(b.ctx(t), id); err != nil {
		t.Fatalf("DeleteEndpoint: %v", err)
	}
	b.waitDone(t, c)
	_, err := b.env.Dial(b.ctx(t), b.svc, creds)
	refused(t, "dial after DeleteEndpoint", err)
	if err := b.svc.PublishTasks(b.ctx(t), id, newTasks(1, "gone")); !errors.Is(err, broker.ErrUnknownEndpoint) {
		t.Errorf("PublishTasks after DeleteEndpoint: %v, want broker.ErrUnknownEndpoint", err)
	}
	if err := b.svc.DeleteEndpoint(b.ctx(t), id); err != nil {
		t.Errorf("DeleteEndpoint again: %v, want nil", err)
	}
}

// big returns n tasks of about size bytes each.
func big(n, size int, tag string) []funcx.Task {
	tasks := newTasks(n, tag)
	for i := range tasks {
		tasks[i].Args = fmt.Appendf(nil, `"%s%d"`, bytes.Repeat([]byte("x"), size), i)
	}
	return tasks
}

func testLargeBatchesSplit(t *testing.T, b *bundle) {
	results := b.consume(t, nil)
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	want := big(7, b.env.MaxMessage/3, "big")
	b.publish(t, id, want)
	got, deliveries := b.recvTasks(t, c, len(want))
	sameTasks(t, got, want)
	if deliveries < 3 {
		t.Errorf("%d deliveries for 7 tasks of a third of MaxMessage each, want at least 3", deliveries)
	}
	wantResults := resultsFor(want)
	if err := c.PublishResults(b.ctx(t), wantResults); err != nil {
		t.Fatalf("publish large results: %v", err)
	}
	var gotResults []funcx.Result
	for len(gotResults) < len(wantResults) {
		gotResults = append(gotResults, b.next(t, results).m.Results...)
	}
	sameResults(t, gotResults, wantResults)
}

func testOversizedItemRefused(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	huge := big(1, b.env.MaxMessage, "huge")
	if err := b.svc.PublishTasks(b.ctx(t), id, huge); !errors.Is(err, broker.ErrTooLarge) {
		t.Errorf("PublishTasks of a task larger than MaxMessage: %v, want broker.ErrTooLarge", err)
	}
	c := b.dial(t, creds)
	if err := c.PublishResults(b.ctx(t), resultsFor(huge)); !errors.Is(err, broker.ErrTooLarge) {
		t.Errorf("PublishResults of a result larger than MaxMessage: %v, want broker.ErrTooLarge", err)
	}
	b.quiet(t, c)
}

func testConcurrentPublishers(t *testing.T, b *bundle) {
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	const publishers, batches, size = 8, 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Go(func() {
			for i := range batches {
				if err := b.svc.PublishTasks(b.ctx(t), id, newTasks(size, fmt.Sprintf("p%d-%03d", p, i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	got, _ := b.recvTasks(t, c, publishers*batches*size)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent PublishTasks: %v", err)
	}
	// Each publisher's batches arrive in the order it published them.
	seen := map[funcx.TaskID]bool{}
	last := map[string]string{}
	for _, tk := range got {
		if seen[tk.ID] {
			t.Fatalf("task %s delivered twice", tk.ID)
		}
		seen[tk.ID] = true
		var args struct{ Tag string }
		if err := json.Unmarshal(tk.Args, &args); err != nil {
			t.Fatalf("task %s: args %s: %v", tk.ID, tk.Args, err)
		}
		p, seq, _ := strings.Cut(args.Tag, "-")
		if seq < last[p] {
			t.Fatalf("publisher %s: batch %s after %s", p, seq, last[p])
		}
		last[p] = seq
	}
	b.quiet(t, c)
}

func testMalformedTasksDropped(t *testing.T, b *bundle) {
	if b.env.PublishRaw == nil {
		t.Skip("Env.PublishRaw is nil")
	}
	id, creds := b.endpoint(t)
	c := b.dial(t, creds)
	for _, m := range []struct{ typ, body string }{{"junk", "{}"}, {broker.TypeTasks, "\xff\xff\xff"}} {
		if err := b.env.PublishRaw(b.ctx(t), b.svc, broker.TaskExchange, id, m.typ, []byte(m.body)); err != nil {
			t.Fatalf("publish raw: %v", err)
		}
	}
	want := newTasks(2, "good")
	b.publish(t, id, want)
	got, _ := b.recvTasks(t, c, 2)
	sameTasks(t, got, want)
	b.quiet(t, c)
	if n, ok := c.(counter); ok && n.Malformed() != 2 {
		t.Errorf("Malformed() = %d, want 2", n.Malformed())
	}
}

func testMalformedResultsDropped(t *testing.T, b *bundle) {
	if b.env.PublishRaw == nil {
		t.Skip("Env.PublishRaw is nil")
	}
	results := b.consume(t, nil)
	id, creds := b.endpoint(t)
	if err := b.env.PublishRaw(b.ctx(t), b.svc, broker.ResultExchange(id), "", broker.TypeResults, []byte("\xff\x01")); err != nil {
		t.Fatalf("publish raw: %v", err)
	}
	hb := broker.Heartbeat{EndpointID: id, Workers: 1}
	if err := b.dial(t, creds).PublishHeartbeat(b.ctx(t), hb); err != nil {
		t.Fatalf("publish heartbeat: %v", err)
	}
	if g := b.next(t, results); g.m.Heartbeat == nil || g.endpointID != id {
		t.Fatalf("got %+v from %s, want the heartbeat", g.m, g.endpointID)
	}
	b.nothingMore(t, results)
	if n, ok := b.svc.(counter); ok && n.Malformed() != 1 {
		t.Errorf("Malformed() = %d, want 1", n.Malformed())
	}
	if n := b.svc.ConsumerStats().Errors[broker.ReasonMalformed]; n != 1 {
		t.Errorf("ConsumerStats().Errors[%s] = %d, want 1", broker.ReasonMalformed, n)
	}
}

func testCloseIdempotent(t *testing.T, b *bundle) {
	_, creds := b.endpoint(t)
	c, err := b.env.Dial(b.ctx(t), b.svc, creds)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err() of an open connection: %v", err)
	}
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	b.waitDone(t, c)
	if !errors.Is(c.Err(), broker.ErrClosed) {
		t.Errorf("Err() after Close: %v, want broker.ErrClosed", c.Err())
	}
	if _, ok := <-c.Deliveries(); ok {
		t.Error("Deliveries() yields after Close")
	}
	if err := c.PublishResults(b.ctx(t), resultsFor(newTasks(1, "closed"))); err == nil {
		t.Error("PublishResults after Close succeeded")
	}
	if err := c.PublishHeartbeat(b.ctx(t), broker.Heartbeat{}); err == nil {
		t.Error("PublishHeartbeat after Close succeeded")
	}
}

// A stopping endpoint stops its deliveries and keeps its connection: it
// settles what it holds and publishes results; what it was not given
// goes back to the queue, in order, for the next connection.
func testStopDeliveriesKeepsConnection(t *testing.T, b *bundle) {
	results := b.consume(t, nil)
	id, creds := b.endpoint(t)
	batches := [][]funcx.Task{newTasks(2, "a"), newTasks(1, "b"), newTasks(3, "c")}
	for _, batch := range batches {
		b.publish(t, id, batch)
	}
	c1 := b.dial(t, creds)
	stopper, ok := c1.(broker.DeliveryStopper)
	if !ok {
		t.Skipf("%T does not implement broker.DeliveryStopper", c1)
	}
	held := b.recv(t, c1)
	sameTasks(t, held.Tasks, batches[0])
	for i := range 2 {
		if err := stopper.StopDeliveries(b.ctx(t)); err != nil {
			t.Fatalf("StopDeliveries #%d: %v", i+1, err)
		}
	}
	select {
	case d, ok := <-c1.Deliveries():
		if ok {
			t.Fatalf("a delivery of %d tasks after StopDeliveries", len(d.Tasks))
		}
	case <-time.After(b.env.Timeout):
		t.Fatal("Deliveries() still open after StopDeliveries returned")
	}
	late := newTasks(1, "late")
	b.publish(t, id, late)
	// The connection is still up: the held delivery settles and results
	// go out.
	if err := c1.Err(); err != nil {
		t.Fatalf("Err() after StopDeliveries: %v", err)
	}
	select {
	case <-c1.Done():
		t.Fatal("the connection ended with StopDeliveries")
	default:
	}
	if err := held.Ack(); err != nil {
		t.Fatalf("ack after StopDeliveries: %v", err)
	}
	want := resultsFor(batches[0])
	if err := c1.PublishResults(b.ctx(t), want); err != nil {
		t.Fatalf("publish results after StopDeliveries: %v", err)
	}
	g := b.next(t, results)
	if g.endpointID != id {
		t.Fatalf("results from %s, want %s", g.endpointID, id)
	}
	sameResults(t, g.m.Results, want)
	if err := c1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	c2 := b.dial(t, creds)
	got, _ := b.recvTasks(t, c2, 5)
	sameTasks(t, got, append(append(append([]funcx.Task(nil), batches[1]...), batches[2]...), late...))
	b.quiet(t, c2)
}
