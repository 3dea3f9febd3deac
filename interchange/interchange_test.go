package interchange_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/interchange/interchangetest"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/routing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "s3cret"

// setup starts an interchange and stops it when the test ends.
func setup(t testing.TB, mod func(*interchange.Config)) *interchange.Interchange {
	t.Helper()
	cfg := interchange.Config{Secret: secret, HeartbeatPeriod: 50 * time.Millisecond, HeartbeatThreshold: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	ix, err := interchange.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ix.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		for range ix.Results() { // closed after stop
		}
	})
	return ix
}

func dial(t testing.TB, ix *interchange.Interchange, mod func(*interchangetest.FakeManagerConfig)) *interchangetest.FakeManager {
	t.Helper()
	cfg := interchangetest.FakeManagerConfig{Addr: ix.Addr().String(), Secret: secret, Workers: 4}
	if mod != nil {
		mod(&cfg)
	}
	f, err := interchangetest.Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func tasks(n int) []funcx.Task {
	ts := make([]funcx.Task, n)
	for i := range ts {
		ts[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("echo"), Args: []byte(fmt.Sprint(i))}
	}
	return ts
}

// collect reads results until n arrived or the deadline passes.
func collect(t *testing.T, ix *interchange.Interchange, n int, within time.Duration) map[funcx.TaskID]funcx.Result {
	t.Helper()
	got := map[funcx.TaskID]funcx.Result{}
	deadline := time.After(within)
	for len(got) < n {
		select {
		case batch := <-ix.Results():
			for _, r := range batch {
				if _, dup := got[r.TaskID]; dup {
					t.Fatalf("task %s has two results", r.TaskID)
				}
				got[r.TaskID] = r
			}
		case <-deadline:
			t.Fatalf("got %d of %d results within %s", len(got), n, within)
		}
	}
	return got
}

func expectNoMore(t *testing.T, ix *interchange.Interchange, wait time.Duration) {
	t.Helper()
	select {
	case batch := <-ix.Results():
		t.Fatalf("unexpected extra results: %+v", batch)
	case <-time.After(wait):
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	ix := setup(t, nil)
	cases := []struct {
		name string
		mod  func(*interchangetest.FakeManagerConfig)
		want string
	}{
		{"wrong secret", func(c *interchangetest.FakeManagerConfig) { c.Secret = "nope" }, "wrong secret"},
		{"old protocol", func(c *interchangetest.FakeManagerConfig) { c.Version = wire.ProtocolVersion + 7 }, "protocol version"},
		{"no capacity", func(c *interchangetest.FakeManagerConfig) { c.Workers = -1 }, "no capacity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := interchangetest.FakeManagerConfig{Addr: ix.Addr().String(), Secret: secret, Workers: 1}
			tc.mod(&cfg)
			_, err := interchangetest.Dial(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want refusal mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("duplicate id", func(t *testing.T) {
		dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.ID = "twin" })
		_, err := interchangetest.Dial(interchangetest.FakeManagerConfig{Addr: ix.Addr().String(), Secret: secret, ID: "twin"})
		if err == nil || !strings.Contains(err.Error(), "already connected") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("http probe", func(t *testing.T) {
		conn, err := net.Dial("tcp", ix.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		// The interchange answers with a refusal frame or closes; it must
		// not hang or crash.
		_, _ = bufio.NewReader(conn).ReadString(0)
	})
	if got := ix.Stats().Counters.Refused; got < 4 {
		t.Fatalf("refused counter %d, want at least 4", got)
	}
}

func TestEveryTaskReturnsExactlyOnce(t *testing.T) {
	t.Parallel()
	ix := setup(t, nil)
	dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Prefetch = 100 })
	dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Prefetch = 10 })
	in := tasks(10000)
	for i := 0; i < len(in); i += 1000 {
		if err := ix.Submit(in[i : i+1000]...); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, ix, len(in), 30*time.Second)
	managers := map[string]int{}
	for i, task := range in {
		r := got[task.ID]
		if r.State != funcx.StateSuccess || string(r.Output) != fmt.Sprint(i) {
			t.Fatalf("task %d: %+v", i, r)
		}
		if r.Times.Dispatched.IsZero() || r.Times.Received.IsZero() {
			t.Fatalf("task %d lacks timestamps: %+v", i, r.Times)
		}
		managers[r.Manager]++
	}
	if len(managers) != 2 {
		t.Fatalf("work went to %d managers, want both: %v", len(managers), managers)
	}
	expectNoMore(t, ix, 100*time.Millisecond)
	s := ix.Stats()
	if s.Pending != 0 || s.InFlight != 0 || s.Counters.Completed != 10000 || s.Counters.Dispatched != 10000 {
		t.Fatalf("stats after the run: %+v", s)
	}
}

// A manager gets no more tasks than its capacity, whatever the router:
// the router may be the caller's (endpoint.Config.Router), and its
// mistakes must neither crash the interchange nor overfill a manager.
func TestCapacityIsRespected(t *testing.T) {
	t.Parallel()
	for name, router := range map[string]routing.Router{"default": nil, "broken router": brokenRouter{}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ix := setup(t, func(c *interchange.Config) { c.Router = router })
			hold := func(*funcx.Task) (funcx.Result, bool) { return funcx.Result{}, false }
			f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Workers, c.Prefetch, c.Answer = 3, 2, hold })
			if err := ix.Submit(tasks(20)...); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return len(f.Received()) == 5 })
			time.Sleep(50 * time.Millisecond)
			if n := len(f.Received()); n != 5 {
				t.Fatalf("manager with capacity 5 got %d tasks", n)
			}
			if s := ix.Stats(); s.Pending != 15 || s.InFlight != 5 {
				t.Fatalf("pending %d in flight %d", s.Pending, s.InFlight)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLostManager(t *testing.T) {
	t.Parallel()
	hold := func(*funcx.Task) (funcx.Result, bool) { return funcx.Result{}, false }
	t.Run("in-flight tasks fail with ManagerLost", func(t *testing.T) {
		t.Parallel()
		ix := setup(t, nil)
		f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Answer = hold; c.Workers = 3 })
		in := tasks(3)
		if err := ix.Submit(in...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(f.Received()) == 3 })
		f.Close() // killed manager: the connection drops
		got := collect(t, ix, 3, 10*time.Second)
		for _, r := range got {
			if !errors.Is(r.Err(), funcx.ErrManagerLost) || r.State != funcx.StateFailed {
				t.Fatalf("got %+v, want ManagerLost", r)
			}
		}
		if c := ix.Stats().Counters; c.Lost != 1 {
			t.Fatalf("lost counter %d", c.Lost)
		}
	})
	t.Run("retried on another manager when configured", func(t *testing.T) {
		t.Parallel()
		ix := setup(t, func(c *interchange.Config) { c.MaxRetriesOnSystemFailure = 1 })
		f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Answer = hold; c.Workers = 3 })
		in := tasks(3)
		if err := ix.Submit(in...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(f.Received()) == 3 })
		f.Close()
		dial(t, ix, nil)
		got := collect(t, ix, 3, 10*time.Second)
		for _, r := range got {
			if r.State != funcx.StateSuccess || r.Attempt != 1 {
				t.Fatalf("got %+v, want success on attempt 1", r)
			}
		}
	})
	t.Run("silent manager is lost after the threshold", func(t *testing.T) {
		t.Parallel()
		ix := setup(t, func(c *interchange.Config) { c.HeartbeatThreshold = 300 * time.Millisecond })
		f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Answer = hold; c.Silent = true })
		if err := ix.Submit(tasks(1)...); err != nil {
			t.Fatal(err)
		}
		got := collect(t, ix, 1, 10*time.Second)
		for _, r := range got {
			if !errors.Is(r.Err(), funcx.ErrManagerLost) || !strings.Contains(r.Error.Message, "no heartbeat") {
				t.Fatalf("got %+v", r.Error)
			}
		}
		<-f.Done()
	})
	t.Run("results from a lost manager are dropped", func(t *testing.T) {
		t.Parallel()
		ix := setup(t, func(c *interchange.Config) { c.MaxRetriesOnSystemFailure = 1 })
		in := tasks(1)
		// A manager sends a result for a task it never got: stale.
		f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Answer = hold })
		if err := f.SendResults(funcx.Result{TaskID: in[0].ID, State: funcx.StateSuccess}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return ix.Stats().Counters.Stale == 1 })
		if err := ix.Submit(in...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(f.Received()) == 1 })
		f.Close()
		g := dial(t, ix, nil)
		got := collect(t, ix, 1, 10*time.Second)
		if r := got[in[0].ID]; r.Manager == "" || r.State != funcx.StateSuccess {
			t.Fatalf("got %+v", r)
		}
		_ = g
		expectNoMore(t, ix, 100*time.Millisecond)
	})
	t.Run("worker lost is retried when configured", func(t *testing.T) {
		t.Parallel()
		ix := setup(t, func(c *interchange.Config) { c.MaxRetriesOnSystemFailure = 2 })
		var mu sync.Mutex
		attempts := 0
		dial(t, ix, func(c *interchangetest.FakeManagerConfig) {
			c.Answer = func(task *funcx.Task) (funcx.Result, bool) {
				mu.Lock()
				defer mu.Unlock()
				attempts++
				if task.Attempt < 2 {
					return funcx.FailedResult(task, funcx.Errorf(funcx.WorkerLost, "killed"), time.Now()), true
				}
				return funcx.Result{TaskID: task.ID, State: funcx.StateSuccess, Attempt: task.Attempt}, true
			}
		})
		if err := ix.Submit(tasks(1)...); err != nil {
			t.Fatal(err)
		}
		for _, r := range collect(t, ix, 1, 10*time.Second) {
			if r.State != funcx.StateSuccess || r.Attempt != 2 {
				t.Fatalf("got %+v", r)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if attempts != 3 {
			t.Fatalf("%d attempts, want 3", attempts)
		}
	})
}

func TestDrainAndReturn(t *testing.T) {
	t.Parallel()
	ix := setup(t, nil)
	hold := func(*funcx.Task) (funcx.Result, bool) { return funcx.Result{}, false }
	f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Answer = hold; c.Workers = 4 })
	in := tasks(4)
	if err := ix.Submit(in...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(f.Received()) == 4 })
	// The manager drains and hands two tasks back: they must go to the next
	// manager, not to the draining one.
	if err := f.Send(wire.MsgDrain, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Send(wire.MsgReturn, wire.AppendTaskIDs(nil, []funcx.TaskID{in[2].ID, in[3].ID})); err != nil {
		t.Fatal(err)
	}
	g := dial(t, ix, nil)
	got := collect(t, ix, 2, 10*time.Second)
	if _, ok := got[in[2].ID]; !ok {
		t.Fatalf("returned task not re-dispatched: %v", got)
	}
	if n := len(f.Received()); n != 4 {
		t.Fatalf("draining manager got %d tasks", n)
	}
	if err := f.SendResults(funcx.Result{TaskID: in[0].ID, State: funcx.StateSuccess}, funcx.Result{TaskID: in[1].ID, State: funcx.StateSuccess}); err != nil {
		t.Fatal(err)
	}
	collect(t, ix, 2, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ix.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	_ = g
}

func TestSubmitAfterStop(t *testing.T) {
	t.Parallel()
	ix, err := interchange.New(interchange.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ix.Stop(context.Background()); err != nil {
		t.Fatal("second stop:", err)
	}
	if err := ix.Submit(tasks(1)...); !errors.Is(err, interchange.ErrStopped) {
		t.Fatalf("got %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]interchange.Config{
		"no secret":          {},
		"threshold < period": {Secret: "x", HeartbeatPeriod: time.Minute, HeartbeatThreshold: time.Second},
		"negative retries":   {Secret: "x", MaxRetriesOnSystemFailure: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := interchange.New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// A manager whose prefetched tasks still cover its workers is refilled
// only once half its prefetch is spent, and then in one go: a frame per
// few tasks rather than one per result.
func TestRefillWaitsForHalfThePrefetch(t *testing.T) {
	t.Parallel()
	ix := setup(t, nil)
	hold := func(*funcx.Task) (funcx.Result, bool) { return funcx.Result{}, false }
	f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Workers, c.Prefetch, c.Answer = 1, 4, hold })
	if err := ix.Submit(tasks(20)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(f.Received()) == 5 })
	finish := func(i int) {
		t.Helper()
		task := f.Received()[i]
		if err := f.SendResults(funcx.Result{TaskID: task.ID, State: funcx.StateSuccess, Attempt: task.Attempt}); err != nil {
			t.Fatal(err)
		}
	}
	// In flight 4 then 3: 3 and 2 queued beyond the one worker, at least
	// half the prefetch of 4, so no refill yet.
	for i := range 2 {
		finish(i)
		waitFor(t, func() bool { return ix.Stats().InFlight == 4-i })
		time.Sleep(50 * time.Millisecond)
		if n := len(f.Received()); n != 5 {
			t.Fatalf("after %d results the manager got %d tasks, want 5 until half its prefetch is spent", i+1, n)
		}
	}
	// In flight 2: one queued, fewer than half the prefetch: the three
	// free slots are filled.
	finish(2)
	waitFor(t, func() bool { return len(f.Received()) == 8 })
	if s := ix.Stats(); s.InFlight != 5 || s.Pending != 12 {
		t.Fatalf("in flight %d pending %d, want 5 and 12", s.InFlight, s.Pending)
	}
}

// brokenRouter assigns to a manager that does not exist, a negative
// count, and ten times a manager's free slots.
type brokenRouter struct{}

func (brokenRouter) Route(pending []routing.Pending, managers []routing.Manager, dst []routing.Assignment) []routing.Assignment {
	if len(pending) == 0 || len(managers) == 0 {
		return dst
	}
	typ := pending[0].Type
	return append(dst,
		routing.Assignment{Manager: len(managers) + 3, Type: typ, Count: 1},
		routing.Assignment{Manager: -1, Type: typ, Count: 1},
		routing.Assignment{Manager: 0, Type: typ, Count: -5},
		routing.Assignment{Manager: 0, Type: typ, Count: 10 * max(managers[0].Free, 1)},
	)
}

// TestSubmitRoutesAtOnce: a task a connected manager has room for is
// assigned to it by the time Submit returns, not later by the dispatch
// loop: on a quiet endpoint, where tasks come one at a time, that is one
// goroutine hand-off less on each task's way to its worker.
func TestSubmitRoutesAtOnce(t *testing.T) {
	t.Parallel()
	ix := setup(t, nil)
	hold := func(*funcx.Task) (funcx.Result, bool) { return funcx.Result{}, false }
	f := dial(t, ix, func(c *interchangetest.FakeManagerConfig) { c.Workers, c.Prefetch, c.Answer = 2, 0, hold })
	waitFor(t, func() bool { return len(ix.Stats().Managers) == 1 })
	for i := range 4 {
		if err := ix.Submit(tasks(1)...); err != nil {
			t.Fatal(err)
		}
		if s, want := ix.Stats(), min(i+1, 2); s.InFlight != want || s.Pending != i+1-want {
			t.Fatalf("after task %d: %d in flight, %d pending; want %d in flight", i, s.InFlight, s.Pending, want)
		}
	}
	waitFor(t, func() bool { return len(f.Received()) == 2 })
}
