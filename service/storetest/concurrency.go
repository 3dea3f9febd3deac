package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// The checks of this file run Env.Writers goroutines at once, spread over
// two stores on one database, as several service replicas do.

// Results stored by concurrent writers become visible in seq order: a
// reader that pages by seq, as long polls do, never finds a result below
// a seq it has already passed, so it misses none. (A seq taken from a
// sequence inside concurrent transactions that commit out of order
// breaks this.)
func testConcurrentWritersKeepSeqOrder(t *testing.T, b *bundle) {
	b.world(t)
	stores := []service.Store{b.st, b.another(t)}
	const perWriter, readers = 300, 4
	writers := b.env.Writers
	tasks := make([][]funcx.TaskID, writers)
	for w := range tasks {
		ep := fmt.Sprintf("w%d", w)
		b.register(t, ep, "a")
		tasks[w] = addTasks(t, b.st, "a", ep, perWriter)
	}
	total := writers * perWriter

	var wg, rg sync.WaitGroup
	var written atomic.Int64
	finished := make(chan struct{})
	c := ctx(t)
	for w := range writers {
		wg.Go(func() {
			st, ep, ids := stores[w%2], fmt.Sprintf("w%d", w), tasks[w]
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for len(ids) > 0 {
				n := min(len(ids), 1+rng.IntN(20))
				out, err := st.StoreResults(c, ep, success(ids[:n]...), now)
				if err != nil || len(out.Stored) != n {
					t.Errorf("writer %d: StoreResults of %d: stored %d, %v", w, n, len(out.Stored), err)
					return
				}
				written.Add(int64(n))
				ids = ids[n:]
			}
		})
	}
	for r := range readers {
		rg.Go(func() {
			st := stores[r%2]
			var after int64
			seen := make(map[funcx.TaskID]int64, total)
			for {
				// Whether the writers were done before this read: if so,
				// an empty page means the end.
				var done bool
				select {
				case <-finished:
					done = true
				default:
				}
				page, err := st.Results(c, "a", after, 100)
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				for _, rec := range page {
					if prev, dup := seen[rec.Result.TaskID]; dup {
						t.Errorf("reader %d: task %s read twice, at seqs %d and %d", r, rec.Result.TaskID, prev, rec.Seq)
						return
					}
					if rec.Seq <= after {
						t.Errorf("reader %d: seq %d after cursor %d", r, rec.Seq, after)
						return
					}
					seen[rec.Result.TaskID] = rec.Seq
					after = rec.Seq
				}
				if done && len(page) == 0 {
					break
				}
			}
			if len(seen) != total {
				t.Errorf("reader %d read %d of %d results: the others became visible below a seq it had passed", r, len(seen), total)
			}
		})
	}
	wg.Wait()
	close(finished)
	rg.Wait()
	if n := written.Load(); n != int64(total) {
		t.Fatalf("writers stored %d of %d results", n, total)
	}
	if rs := allResults(t, b.st, "a", 0); len(rs) != total {
		t.Fatalf("%d results stored, want %d", len(rs), total)
	}
}

// Writers on two stores report different results for the same tasks at
// once, each in its own order: exactly one result per task is stored
// over all of them, the others are counted as duplicates, and the one
// read back is the one StoreResults reported stored.
func testFirstResultWinsAcrossStores(t *testing.T, b *bundle) {
	b.world(t)
	stores := []service.Store{b.st, b.another(t)}
	const n = 200
	ids := addTasks(t, b.st, "a", "e1", n)
	writers := b.env.Writers

	var mu sync.Mutex
	winner := make(map[funcx.TaskID]string, n)
	var dups atomic.Int64
	var wg sync.WaitGroup
	c := ctx(t)
	for w := range writers {
		wg.Go(func() {
			st := stores[w%2]
			order := append([]funcx.TaskID(nil), ids...)
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for len(order) > 0 {
				k := min(len(order), 1+rng.IntN(40))
				batch := make([]funcx.Result, k)
				for i, id := range order[:k] {
					batch[i] = funcx.Result{TaskID: id, State: funcx.StateSuccess, Output: fmt.Appendf(nil, `"writer %d"`, w)}
				}
				out, err := st.StoreResults(c, "e1", batch, now)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if len(out.Stored)+out.Duplicates != k {
					t.Errorf("writer %d: %d stored and %d duplicates of %d", w, len(out.Stored), out.Duplicates, k)
				}
				dups.Add(int64(out.Duplicates))
				mu.Lock()
				for _, rec := range out.Stored {
					if prev, ok := winner[rec.Result.TaskID]; ok {
						t.Errorf("task %s stored twice: by %s and by writer %d", rec.Result.TaskID, prev, w)
					}
					winner[rec.Result.TaskID] = string(rec.Result.Output)
				}
				mu.Unlock()
				order = order[k:]
			}
		})
	}
	wg.Wait()
	if len(winner) != n || dups.Load() != int64(n*(writers-1)) {
		t.Fatalf("%d tasks got a result, %d duplicates; want %d and %d", len(winner), dups.Load(), n, n*(writers-1))
	}
	rs := allResults(t, stores[1], "a", 0)
	if len(rs) != n {
		t.Fatalf("%d results read back, want %d", len(rs), n)
	}
	for _, r := range rs {
		if got, want := string(r.Result.Output), winner[r.Result.TaskID]; got != want {
			t.Fatalf("task %s: stored %s, StoreResults said %s", r.Result.TaskID, got, want)
		}
	}
}

// Submissions of the same task IDs through two stores at once, each in
// its own order (as retries of a client through two replicas may be):
// every call succeeds, and each task is new to exactly one of them.
func testConcurrentSubmissionsOfOneTask(t *testing.T, b *bundle) {
	b.world(t)
	stores := []service.Store{b.st, b.another(t)}
	const n = 200
	recs := make([]service.TaskRecord, n)
	for i := range recs {
		recs[i] = task("a", "e1")
	}
	writers := b.env.Writers
	var created sync.Map // task ID -> *atomic.Int32
	var wg sync.WaitGroup
	c := ctx(t)
	for w := range writers {
		wg.Go(func() {
			order := append([]service.TaskRecord(nil), recs...)
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			sub, err := stores[w%2].AddTasks(c, order)
			if err != nil {
				t.Errorf("writer %d: AddTasks: %v", w, err)
				return
			}
			for i, a := range sub.Tasks {
				if !a.Existing {
					v, _ := created.LoadOrStore(order[i].ID, new(atomic.Int32))
					v.(*atomic.Int32).Add(1)
				}
			}
		})
	}
	wg.Wait()
	for _, r := range recs {
		v, ok := created.Load(r.ID)
		if !ok || v.(*atomic.Int32).Load() != 1 {
			t.Fatalf("task %s was new to %v submissions, want exactly one", r.ID, v)
		}
	}
	ids := make([]funcx.TaskID, n)
	for i := range recs {
		ids[i] = recs[i].ID
	}
	if ts, err := b.st.Tasks(ctx(t), "a", ids); err != nil || len(ts) != n {
		t.Fatalf("%d tasks stored (%v), want %d", len(ts), err, n)
	}
}

// Submissions through two stores race the endpoint's deletion: each
// either fails with ErrDeleted or is stored before the deletion, which
// fails its tasks. No task is left waiting for the deleted endpoint.
func testDeleteEndpointRacingSubmissions(t *testing.T, b *bundle) {
	b.world(t)
	b.register(t, "doomed", "a")
	stores := []service.Store{b.st, b.another(t)}
	var mu sync.Mutex
	var accepted []funcx.TaskID
	var batches atomic.Int64
	var wg sync.WaitGroup
	c := ctx(t)
	for w := range b.env.Writers {
		wg.Go(func() {
			for {
				recs := make([]service.TaskRecord, 20)
				for i := range recs {
					recs[i] = task("a", "doomed")
				}
				_, err := stores[w%2].AddTasks(c, recs)
				if errors.Is(err, service.ErrDeleted) {
					return
				}
				if err != nil {
					t.Errorf("writer %d: AddTasks: %v", w, err)
					return
				}
				mu.Lock()
				for _, r := range recs {
					accepted = append(accepted, r.ID)
				}
				mu.Unlock()
				batches.Add(1)
			}
		})
	}
	// Let the writers get going.
	for deadline := time.Now().Add(time.Minute); batches.Load() < int64(2*b.env.Writers) && !t.Failed() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	d, err := stores[0].DeleteEndpoint(c, "doomed", now)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if d.Failed != len(accepted) {
		t.Errorf("the deletion failed %d tasks; %d were stored", d.Failed, len(accepted))
	}
	ts, err := stores[1].Tasks(c, "a", accepted)
	if err != nil || len(ts) != len(accepted) {
		t.Fatalf("Tasks: %d of %d, %v", len(ts), len(accepted), err)
	}
	for _, s := range ts {
		if s.Result == nil || s.Result.Result.Error == nil || s.Result.Result.Error.Kind != funcx.EndpointDeleted {
			t.Fatalf("task %s of the deleted endpoint: state %v, result %+v", s.ID, s.State, s.Result)
		}
	}
}

// Registrations race: two identities registering one new ID get it
// once, the other ErrNotOwner; a re-registration racing the deletion of
// the endpoint never brings it back.
func testRegisterRacingDelete(t *testing.T, b *bundle) {
	b.identities(t, "a", "b")
	stores := []service.Store{b.st, b.another(t)}
	c := ctx(t)
	for i := range 20 {
		id := fmt.Sprintf("new%d", i)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for k, owner := range []string{"a", "b"} {
			wg.Go(func() {
				created, err := stores[k].RegisterEndpoint(c, service.Endpoint{ID: id, Owner: owner, Name: "x"})
				switch {
				case err == nil && created:
					wins.Add(1)
				case !errors.Is(err, service.ErrNotOwner):
					t.Errorf("%s registers %s: created %v, %v; want it or ErrNotOwner", owner, id, created, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%s was created %d times", id, wins.Load())
		}
	}
	for i := range 20 {
		id := fmt.Sprintf("del%d", i)
		b.register(t, id, "a")
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := stores[0].DeleteEndpoint(c, id, now); err != nil {
				t.Errorf("delete %s: %v", id, err)
			}
		})
		wg.Go(func() {
			_, err := stores[1].RegisterEndpoint(c, service.Endpoint{ID: id, Owner: "a", Name: "again"})
			if err != nil && !errors.Is(err, service.ErrDeleted) {
				t.Errorf("re-register %s: %v, want nil or ErrDeleted", id, err)
			}
		})
		wg.Wait()
		for k, st := range stores {
			if _, err := st.Endpoint(c, id); !errors.Is(err, service.ErrDeleted) {
				t.Fatalf("store %d: %s after the race: %v, want ErrDeleted", k, id, err)
			}
		}
	}
	ids, err := b.st.EndpointIDs(c)
	if err != nil || len(ids) != 20 {
		t.Fatalf("EndpointIDs: %d, %v; want the 20 new ones", len(ids), err)
	}
}
