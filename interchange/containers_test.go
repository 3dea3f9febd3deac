package interchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/interchange/interchangetest"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/routing"
)

// waitStats polls the interchange's figures until ok holds.
func waitStats(t *testing.T, ix *interchange.Interchange, ok func(interchange.Stats) bool) interchange.Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := ix.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never reached the expected state: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Soft routing reads the warm containers a manager's status reports, and
// counts the tasks sent since that status as taking them.
func TestSoftRoutingUsesStatusFrames(t *testing.T) {
	t.Parallel()
	ix := setup(t, func(c *interchange.Config) { c.Router = routing.Soft{IntN: func(int) int { return 0 }} })
	hold := func(c *interchangetest.FakeManagerConfig) {
		c.Answer = func(*funcx.Task) (funcx.Result, bool) { return funcx.Result{}, false }
	}
	cold := dial(t, ix, hold)
	waitStats(t, ix, func(s interchange.Stats) bool { return len(s.Managers) == 1 })
	warm := dial(t, ix, hold)
	st := wire.Status{Types: []wire.TypeStatus{{Container: "A", Workers: 2, Idle: 1}}, WarmHits: 3, ColdStarts: 2, Switches: 1, Retired: 4}
	if err := warm.Send(wire.MsgStatus, wire.AppendStatus(nil, &st)); err != nil {
		t.Fatal(err)
	}
	s := waitStats(t, ix, func(s interchange.Stats) bool { return s.Routing.WarmHits == 3 })
	want := interchange.RoutingFigures{WarmHits: 3, ColdStarts: 2, Switches: 1, Retired: 4}
	if s.Routing != want {
		t.Fatalf("routing figures %+v, want %+v", s.Routing, want)
	}
	if c := s.Managers[1].Containers; len(c) != 1 || c[0] != (interchange.ContainerStats{Container: "A", Workers: 2, Idle: 1}) {
		t.Fatalf("containers of the warm manager: %+v", c)
	}

	// The first task of A takes the warm container, although the random
	// pick (0) would be the cold manager.
	one := tasks(1)
	one[0].Container = "A"
	if err := ix.Submit(one...); err != nil {
		t.Fatal(err)
	}
	waitStats(t, ix, func(s interchange.Stats) bool { return s.InFlight == 1 })
	if warm.ReceivedCount() != 1 || cold.ReceivedCount() != 0 {
		// Received counts lag the dispatch: wait for the frame.
		deadline := time.Now().Add(5 * time.Second)
		for warm.ReceivedCount() != 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if warm.ReceivedCount() != 1 || cold.ReceivedCount() != 0 {
			t.Fatalf("warm got %d, cold %d; want the task on the warm manager", warm.ReceivedCount(), cold.ReceivedCount())
		}
	}
	// The second finds the warm container taken (no newer status), so
	// it goes to the random pick.
	two := tasks(1)
	two[0].Container = "A"
	if err := ix.Submit(two...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cold.ReceivedCount() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if cold.ReceivedCount() != 1 || warm.ReceivedCount() != 1 {
		t.Fatalf("warm got %d, cold %d; want the second task cold-started on the random pick", warm.ReceivedCount(), cold.ReceivedCount())
	}
}

// Tasks Refuse turns down are answered at once, before and after Start.
func TestRefusedTasksAreAnswered(t *testing.T) {
	t.Parallel()
	refuse := func(t *funcx.Task) *funcx.TaskError {
		if t.Container == "nope" {
			return funcx.Errorf(funcx.InvalidTask, "no manager serves nope")
		}
		return nil
	}
	ix, err := interchange.New(interchange.Config{Secret: secret, Refuse: refuse})
	if err != nil {
		t.Fatal(err)
	}
	early := tasks(2)
	early[0].Container = "nope"
	if err := ix.Submit(early...); err != nil {
		t.Fatal(err)
	}
	if err := ix.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ix.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		for range ix.Results() {
		}
	}()
	late := tasks(1)
	late[0].Container = "nope"
	if err := ix.Submit(late...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, ix, 2, 10*time.Second)
	for _, id := range []funcx.TaskID{early[0].ID, late[0].ID} {
		if r := got[id]; r.Error == nil || r.Error.Kind != funcx.InvalidTask {
			t.Fatalf("task %s: %+v", id, r)
		}
	}
	if s := ix.Stats(); s.Pending != 1 || s.Counters.Completed != 2 {
		t.Fatalf("pending %d (want the accepted task), completed %d", s.Pending, s.Counters.Completed)
	}
}
