package brokertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// bundle is one subtest's service and helpers.
type bundle struct {
	env Env
	svc broker.Service
}

func setup(t *testing.T, env Env) *bundle {
	t.Helper()
	svc := env.NewService(t)
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("close service: %v", err)
		}
	})
	return &bundle{env: env, svc: svc}
}

// ctx bounds one step of a subtest.
func (b *bundle) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), b.env.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// endpoint sets up a new endpoint, deleted when the subtest ends.
func (b *bundle) endpoint(t *testing.T) (string, broker.Credentials) {
	t.Helper()
	id := b.env.EndpointID(t)
	creds, err := b.svc.EnsureEndpoint(b.ctx(t), id)
	if err != nil {
		t.Fatalf("EnsureEndpoint(%s): %v", id, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.env.Timeout)
		defer cancel()
		if err := b.svc.DeleteEndpoint(ctx, id); err != nil {
			t.Errorf("DeleteEndpoint(%s): %v", id, err)
		}
	})
	return id, creds
}

// dial connects as an endpoint; the connection is closed when the
// subtest ends.
func (b *bundle) dial(t *testing.T, creds broker.Credentials) broker.EndpointConn {
	t.Helper()
	c, err := b.env.Dial(b.ctx(t), b.svc, creds)
	if err != nil {
		t.Fatalf("dial as %s: %v", creds.Username, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close endpoint connection: %v", err)
		}
	})
	return c
}

func (b *bundle) publish(t *testing.T, id string, tasks []funcx.Task) {
	t.Helper()
	if err := b.svc.PublishTasks(b.ctx(t), id, tasks); err != nil {
		t.Fatalf("PublishTasks(%s, %d tasks): %v", id, len(tasks), err)
	}
}

// recv waits for the next delivery.
func (b *bundle) recv(t *testing.T, c broker.EndpointConn) broker.Delivery {
	t.Helper()
	select {
	case d, ok := <-c.Deliveries():
		if !ok {
			t.Fatalf("deliveries closed: %v", c.Err())
		}
		return d
	case <-time.After(b.env.Timeout):
		t.Fatalf("no delivery within %s", b.env.Timeout)
	}
	panic("unreachable")
}

// recvTasks receives and acks deliveries until it has n tasks.
func (b *bundle) recvTasks(t *testing.T, c broker.EndpointConn, n int) (tasks []funcx.Task, deliveries int) {
	t.Helper()
	for len(tasks) < n {
		d := b.recv(t, c)
		tasks = append(tasks, d.Tasks...)
		deliveries++
		if err := d.Ack(); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	if len(tasks) != n {
		t.Fatalf("received %d tasks, want %d", len(tasks), n)
	}
	return tasks, deliveries
}

// quiet checks that no delivery arrives for a while.
func (b *bundle) quiet(t *testing.T, c broker.EndpointConn) {
	t.Helper()
	select {
	case d, ok := <-c.Deliveries():
		if ok {
			t.Fatalf("unexpected delivery of %d tasks (first %s)", len(d.Tasks), d.Tasks[0].ID)
		}
		t.Fatalf("deliveries closed: %v", c.Err())
	case <-time.After(b.env.Quiet):
	}
}

// waitDone waits for the connection to end.
func (b *bundle) waitDone(t *testing.T, c broker.EndpointConn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(b.env.Timeout):
		t.Fatalf("connection still open after %s", b.env.Timeout)
	}
}

// got is one message handed to a ConsumeResults handler.
type got struct {
	endpointID string
	m          broker.Message
}

// consume runs ConsumeResults until the subtest ends and returns what it
// handles. fail, if set, may fail a message before it is recorded.
func (b *bundle) consume(t *testing.T, fail func(endpointID string, m broker.Message) error) <-chan got {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan got, 4096)
	errc := make(chan error, 1)
	go func() {
		errc <- b.svc.ConsumeResults(ctx, func(_ context.Context, id string, m broker.Message) error {
			if fail != nil {
				if err := fail(id, m); err != nil {
					return err
				}
			}
			out <- got{id, m}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("ConsumeResults returned %v after its context ended, want nil", err)
			}
		case <-time.After(b.env.Timeout):
			t.Errorf("ConsumeResults still running %s after its context ended", b.env.Timeout)
		}
	})
	return out
}

func (b *bundle) next(t *testing.T, ch <-chan got) got {
	t.Helper()
	select {
	case g := <-ch:
		return g
	case <-time.After(b.env.Timeout):
		t.Fatalf("no result message within %s", b.env.Timeout)
	}
	panic("unreachable")
}

func (b *bundle) nothingMore(t *testing.T, ch <-chan got) {
	t.Helper()
	select {
	case g := <-ch:
		t.Fatalf("unexpected message from %s: %+v", g.endpointID, g.m)
	case <-time.After(b.env.Quiet):
	}
}

// newTasks returns n tasks whose arguments carry tag and their index.
func newTasks(n int, tag string) []funcx.Task {
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{
			ID:       funcx.NewTaskID(),
			Function: funcx.GoFunc("noop"),
			Args:     fmt.Appendf(nil, `{"tag":%q,"i":%d}`, tag, i),
		}
	}
	return tasks
}

func resultsFor(tasks []funcx.Task) []funcx.Result {
	rs := make([]funcx.Result, len(tasks))
	for i, tk := range tasks {
		rs[i] = funcx.Result{TaskID: tk.ID, State: funcx.StateSuccess, Output: tk.Args, Worker: i}
	}
	return rs
}

func sameTasks(t *testing.T, got, want []funcx.Task) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tasks, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || string(got[i].Args) != string(want[i].Args) || got[i].Function.Name != want[i].Function.Name {
			t.Fatalf("task %d: got %s %s, want %s %s", i, got[i].ID, got[i].Args, want[i].ID, want[i].Args)
		}
	}
}

func sameResults(t *testing.T, got, want []funcx.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].TaskID != want[i].TaskID || string(got[i].Output) != string(want[i].Output) {
			t.Fatalf("result %d: got %s, want %s", i, got[i].TaskID, want[i].TaskID)
		}
	}
}

// refused checks that err is an access refusal in the broker's words.
func refused(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want access refused", what)
	}
	if !errors.Is(err, broker.ErrAccessRefused) || !strings.Contains(err.Error(), "ACCESS_REFUSED") {
		t.Fatalf("%s: %v, want broker.ErrAccessRefused saying ACCESS_REFUSED", what, err)
	}
	t.Logf("%s: %v", what, err)
}

// counter is implemented by connections and services that count the
// malformed messages they dropped.
type counter interface{ Malformed() uint64 }

// guard serializes the per-message state of a failing handler.
type guard struct {
	mu   sync.Mutex
	seen map[funcx.TaskID]int
}
