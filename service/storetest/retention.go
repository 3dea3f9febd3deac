package storetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// storeAt stores a success result for each task at the given time,
// through st, and fails unless all were stored.
func storeAt(t *testing.T, st service.Store, at time.Time, ids ...funcx.TaskID) {
	t.Helper()
	out, err := st.StoreResults(ctx(t), "e1", success(ids...), at)
	if err != nil || len(out.Stored) != len(ids) {
		t.Fatalf("StoreResults(%d at %s): %+v, %v", len(ids), at, out, err)
	}
}

// taskIDs returns the IDs of the tasks that Tasks finds among ids.
func taskIDs(t *testing.T, st service.Store, owner string, ids []funcx.TaskID) []funcx.TaskID {
	t.Helper()
	recs, err := st.Tasks(ctx(t), owner, ids)
	if err != nil {
		t.Fatal(err)
	}
	var out []funcx.TaskID
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// Expired results go oldest first, in batches of at most the limit,
// with their tasks; unexpired results and tasks without a result stay;
// a late duplicate of a deleted task's result is unknown, not stored.
func testDeleteExpiredResults(t *testing.T, b *bundle) {
	b.world(t)
	old := addTasks(t, b.st, "a", "e1", 7)
	fresh := addTasks(t, b.st, "a", "e1", 3)
	waiting := addTasks(t, b.st, "a", "e1", 2)
	storeAt(t, b.st, now.Add(-2*time.Hour), old...)
	storeAt(t, b.st, now, fresh...)
	before := now.Add(-time.Hour)

	var batches []int
	for {
		n, err := b.st.DeleteExpiredResults(ctx(t), before, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n > 3 {
			t.Fatalf("deleted %d with a limit of 3", n)
		}
		batches = append(batches, n)
		if n == 0 {
			break
		}
	}
	if total := batches[0] + batches[1] + batches[2]; total != 7 || len(batches) != 4 {
		t.Fatalf("batches %v, want 3+3+1 then 0", batches)
	}
	all := slices.Concat(old, fresh, waiting)
	if got := taskIDs(t, b.st, "a", all); len(got) != 5 || slices.ContainsFunc(got, func(id funcx.TaskID) bool { return slices.Contains(old, id) }) {
		t.Fatalf("tasks left %v, want the 3 fresh and 2 waiting ones", got)
	}
	rs := allResults(t, b.st, "a", 0)
	if len(rs) != 3 {
		t.Fatalf("%d results left, want the 3 fresh", len(rs))
	}
	for _, r := range rs {
		if !slices.Contains(fresh, r.Result.TaskID) {
			t.Fatalf("result of %s left", r.Result.TaskID)
		}
	}
	out, err := b.st.StoreResults(ctx(t), "e1", success(old[0]), now)
	if err != nil || len(out.Stored) != 0 || out.Unknown != 1 {
		t.Fatalf("late result of a deleted task: %+v, %v; want it unknown", out, err)
	}
	// Everything expires: the waiting tasks still stay.
	if n, err := b.st.DeleteExpiredResults(ctx(t), now.Add(time.Hour), 100); n != 3 || err != nil {
		t.Fatalf("deleted %d, %v; want the 3 fresh", n, err)
	}
	if got := taskIDs(t, b.st, "a", all); len(got) != 2 {
		t.Fatalf("tasks left %v, want the 2 waiting", got)
	}
	// The waiting tasks' submission is intact: their results are stored.
	storeAt(t, b.st, now, waiting...)
}

// Deletion stops at the first unexpired result in seq order: one stored
// later with an earlier time (another replica's clock) waits.
func testDeleteExpiredStopsAtUnexpired(t *testing.T, b *bundle) {
	b.world(t)
	ids := addTasks(t, b.st, "a", "e1", 3)
	storeAt(t, b.st, now.Add(-2*time.Hour), ids[0])
	storeAt(t, b.st, now, ids[1])
	storeAt(t, b.st, now.Add(-2*time.Hour), ids[2])
	n, err := b.st.DeleteExpiredResults(ctx(t), now.Add(-time.Hour), 100)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want the first only", n, err)
	}
	if got := taskIDs(t, b.st, "a", ids); len(got) != 2 || slices.Contains(got, ids[0]) {
		t.Fatalf("tasks left %v", got)
	}
}

// DeleteResults deletes the owner's tasks that have a result and leaves
// waiting tasks, other owners' tasks and unknown IDs alone.
func testDeleteResults(t *testing.T, b *bundle) {
	b.world(t)
	b.identities(t, "b")
	b.register(t, "e2", "b")
	b.function(t, "f1b", "b")
	done := addTasks(t, b.st, "a", "e1", 3)
	waiting := addTasks(t, b.st, "a", "e1", 1)
	storeAt(t, b.st, now, done...)
	theirs := service.TaskRecord{ID: funcx.NewTaskID(), Owner: "b", EndpointID: "e2", FunctionID: "f1b", Submitted: now}
	if _, err := b.st.AddTasks(ctx(t), []service.TaskRecord{theirs}); err != nil {
		t.Fatal(err)
	}
	if out, err := b.st.StoreResults(ctx(t), "e2", success(theirs.ID), now); err != nil || len(out.Stored) != 1 {
		t.Fatalf("%+v %v", out, err)
	}

	ask := []funcx.TaskID{done[0], done[1], waiting[0], theirs.ID, funcx.NewTaskID()}
	n, err := b.st.DeleteResults(ctx(t), "a", ask)
	if err != nil || n != 2 {
		t.Fatalf("DeleteResults: %d, %v; want 2", n, err)
	}
	if got := taskIDs(t, b.st, "a", slices.Concat(done, waiting)); len(got) != 2 || !slices.Contains(got, done[2]) || !slices.Contains(got, waiting[0]) {
		t.Fatalf("a's tasks left %v, want %s and the waiting %s", got, done[2], waiting[0])
	}
	if got := taskIDs(t, b.st, "b", []funcx.TaskID{theirs.ID}); len(got) != 1 {
		t.Fatal("b's task was deleted by a's DeleteResults")
	}
	if rs := allResults(t, b.st, "a", 0); len(rs) != 1 || rs[0].Result.TaskID != done[2] {
		t.Fatalf("a's results left: %+v", rs)
	}
	if n, err := b.st.DeleteResults(ctx(t), "a", done[:2]); n != 0 || err != nil {
		t.Fatalf("DeleteResults again: %d, %v", n, err)
	}
	if n, err := b.st.DeleteResults(ctx(t), "a", nil); n != 0 || err != nil {
		t.Fatalf("DeleteResults(nil): %d, %v", n, err)
	}
	// The waiting task still gets its result.
	storeAt(t, b.st, now, waiting...)
}

// Retention on two stores at once, racing submissions and result
// writes: every expired result is deleted exactly once over both, and
// every new result is stored once and stays readable.
func testRetentionRacingWriters(t *testing.T, b *bundle) {
	b.world(t)
	stores := []service.Store{b.st, b.another(t)}
	const oldN, batches, per = 600, 20, 20
	old := addTasks(t, b.st, "a", "e1", oldN)
	for i := 0; i < oldN; i += 100 {
		storeAt(t, b.st, now.Add(-2*time.Hour), old[i:i+100]...)
	}

	var deleted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, st := range stores {
		wg.Go(func() {
			for {
				n, err := st.DeleteExpiredResults(ctx(t), now.Add(-time.Hour), 25)
				if err != nil {
					t.Errorf("DeleteExpiredResults: %v", err)
					return
				}
				deleted.Add(int64(n))
				if n > 0 {
					continue
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond): // nothing expired yet: let writers in
				}
			}
		})
	}
	var fresh []funcx.TaskID
	for i := range batches {
		st := stores[i%2]
		ids := addTasks(t, st, "a", "e1", per)
		storeAt(t, stores[(i+1)%2], now, ids...)
		fresh = append(fresh, ids...)
	}
	close(stop)
	wg.Wait()
	// Whatever the deleters had not reached when told to stop.
	for {
		n, err := b.st.DeleteExpiredResults(ctx(t), now.Add(-time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		deleted.Add(int64(n))
	}
	if deleted.Load() != oldN {
		t.Fatalf("%d results deleted over both stores, want %d", deleted.Load(), oldN)
	}
	rs := allResults(t, stores[1], "a", 0)
	if len(rs) != len(fresh) {
		t.Fatalf("%d results left, want the %d new ones", len(rs), len(fresh))
	}
	for _, r := range rs {
		if !slices.Contains(fresh, r.Result.TaskID) {
			t.Fatalf("result of %s left", r.Result.TaskID)
		}
	}
}
