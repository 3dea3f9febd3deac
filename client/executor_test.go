package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// failOnLost is a fake endpoint: tasks whose args are "lost" fail with
// WorkerLost, the others echo their args.
func failOnLost(fn api.Function, t api.TaskSubmit) *api.TaskResult {
	if string(t.Args) == `"lost"` {
		return &api.TaskResult{Error: &api.TaskError{Kind: "WorkerLost", Message: "worker 3 died"}, Stderr: []byte("killed")}
	}
	return clienttest.Echo(fn, t)
}

// TestExecutorBatches: submissions made while every request is in flight
// travel together in the next one. The service holds the first requests
// until every submission is made, so that the bound does not depend on
// how a loaded machine schedules the submitting goroutines (it failed
// once in CI with 31 requests when it did).
func TestExecutorBatches(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	run := func(fn api.Function, task api.TaskSubmit) *api.TaskResult {
		<-release
		return clienttest.Echo(fn, task)
	}
	b := setup(t, clienttest.Config{Run: run}, nil)
	ex := b.c.Executor(b.endpointID)
	const n = 1000
	futures := make([]*client.Future, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { futures[i] = ex.Submit(b.goFunc, i) })
	}
	wg.Wait()
	close(release)

	for i, f := range futures {
		res, err := f.Result(b.ctx)
		if err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
		var got int
		if err := res.Output(&got); err != nil || got != i || res.TaskID() != f.TaskID() || res.State() != funcx.StateSuccess {
			t.Fatalf("future %d: output %d (%v), task %s for %s", i, got, err, res.TaskID(), f.TaskID())
		}
	}
	posts := b.srv.Requests("POST /v1/tasks")
	t.Logf("%d tasks in %d POSTs, %d result polls", n, posts, b.srv.Requests("GET /v1/results"))
	// At most DefaultMaxSubmitsInFlight requests went out (and were
	// held) before the last submission; the rest is one batch.
	if want := client.DefaultMaxSubmitsInFlight + 1; posts > want {
		t.Fatalf("%d concurrent submissions took %d POSTs, want at most %d", n, posts, want)
	}
	seen := make(map[string]bool)
	for _, task := range b.srv.Tasks() {
		if seen[task.TaskID] {
			t.Fatalf("task %s stored twice", task.TaskID)
		}
		seen[task.TaskID] = true
	}
	if len(seen) != n {
		t.Fatalf("service stored %d tasks, want %d", len(seen), n)
	}
}

// TestExecutorOverlapsSubmissions: an Executor has up to
// MaxSubmitsInFlight POSTs in flight at once, and never more, so that a
// burst does not wait for each batch's answer before sending the next.
func TestExecutorOverlapsSubmissions(t *testing.T) {
	t.Parallel()
	const inFlight = 2
	var (
		mu        sync.Mutex
		cur, peak int
		together  = make(chan struct{}) // closed once inFlight POSTs are in at once
		once      sync.Once
	)
	run := func(fn api.Function, task api.TaskSubmit) *api.TaskResult {
		mu.Lock()
		cur++
		peak = max(peak, cur)
		if cur == inFlight {
			once.Do(func() { close(together) })
		}
		mu.Unlock()
		select { // a POST answers only once another is in flight beside it
		case <-together:
		case <-time.After(2 * time.Second):
		}
		mu.Lock()
		cur--
		mu.Unlock()
		return clienttest.Echo(fn, task)
	}
	b := setup(t, clienttest.Config{Run: run}, func(c *client.Config) { c.MaxBatch = 1; c.MaxSubmitsInFlight = inFlight })
	ex := b.c.Executor(b.endpointID)
	fs, err := ex.Map(b.ctx, b.goFunc, []any{1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		if _, err := f.Result(b.ctx); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != inFlight {
		t.Fatalf("at most %d POSTs were in flight at once, want %d (MaxSubmitsInFlight)", peak, inFlight)
	}
	if n := b.srv.Requests("POST /v1/tasks"); n != len(fs) {
		t.Fatalf("%d POSTs for %d tasks with MaxBatch 1", n, len(fs))
	}
}

func TestExecutorResolvesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)
	ex := b.c.Executor(b.endpointID)
	fs, err := ex.Map(b.ctx, b.goFunc, []any{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	// A result of a task this client did not submit, then a result and
	// its duplicate.
	b.srv.Complete(api.TaskResult{TaskID: "someone-elses-task", Output: []byte("7")})
	b.srv.Complete(api.TaskResult{TaskID: fs[0].TaskID(), Output: []byte("10")}, api.TaskResult{TaskID: fs[0].TaskID(), Output: []byte("99")})
	b.srv.Complete(api.TaskResult{TaskID: fs[1].TaskID(), Output: []byte("20")})
	for i, want := range []int{10, 20} {
		res, err := fs[i].Result(b.ctx)
		var got int
		if err != nil || res.Output(&got) != nil || got != want {
			t.Fatalf("future %d: %v, %v, output %d, want %d", i, res, err, got, want)
		}
		again, _ := fs[i].Result(b.ctx)
		if again != res {
			t.Fatalf("future %d resolved twice", i)
		}
	}
}

func TestExecutorTaskFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{Run: failOnLost}, nil)
	ex := b.c.Executor(b.endpointID)
	ok, lost := ex.Submit(b.goFunc, "fine"), ex.Submit(b.goFunc, "lost")

	if _, err := ok.Result(b.ctx); err != nil {
		t.Fatal(err)
	}
	res, err := lost.Result(b.ctx)
	if !errors.Is(err, funcx.ErrWorkerLost) || errors.Is(err, funcx.ErrManagerLost) {
		t.Fatalf("err = %v, want WorkerLost", err)
	}
	var te *funcx.TaskError
	if !errors.As(err, &te) || te.Kind != funcx.WorkerLost || te.Message != "worker 3 died" {
		t.Fatalf("TaskError = %+v", te)
	}
	if res == nil || res.State() != funcx.StateFailed || string(res.Stderr()) != "killed" || !errors.Is(res.Err(), funcx.ErrWorkerLost) {
		t.Fatalf("result of the failed task = %+v", res)
	}
}

func TestExecutorSubmissionErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{Run: clienttest.Echo}, nil)
	foreign := b.srv.AddEndpoint(api.EndpointStatus{Name: "theirs", Owner: "someone-else"})

	t.Run("forbidden endpoint", func(t *testing.T) {
		t.Parallel()
		_, err := b.c.Executor(foreign).Submit(b.goFunc, 1).Result(b.ctx)
		var ae *client.APIError
		if !errors.Is(err, client.ErrForbidden) || !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
			t.Fatalf("err = %v, want a 403 APIError", err)
		}
	})
	t.Run("unknown endpoint via Map", func(t *testing.T) {
		t.Parallel()
		fs, err := b.c.Executor("nope").Map(b.ctx, b.goFunc, []any{1, 2, 3})
		if !errors.Is(err, client.ErrNotFound) || len(fs) != 3 {
			t.Fatalf("Map = %d futures, %v; want 3 and ErrNotFound", len(fs), err)
		}
		if _, err := fs[2].Result(b.ctx); !errors.Is(err, client.ErrNotFound) {
			t.Fatalf("future: %v", err)
		}
	})
	t.Run("args that do not encode", func(t *testing.T) {
		t.Parallel()
		ex := b.c.Executor(b.endpointID)
		if _, err := ex.Submit(b.goFunc, func() {}).Result(b.ctx); err == nil {
			t.Fatal("a func encoded as JSON")
		}
		if _, err := ex.Map(b.ctx, b.goFunc, []any{1, make(chan int)}); err == nil {
			t.Fatal("Map encoded a channel")
		}
	})
}

func TestExecutorRetriedSubmissionIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)
	b.srv.LoseResponses("POST /v1/tasks", 1)
	inputs := make([]any, 100)
	for i := range inputs {
		inputs[i] = i
	}
	fs, err := b.c.Executor(b.endpointID).Map(b.ctx, b.goFunc, inputs)
	if err != nil {
		t.Fatal(err)
	}
	// Map has returned: the retry is done. Now the endpoint answers.
	for _, task := range b.srv.Tasks() {
		b.srv.Complete(api.TaskResult{TaskID: task.TaskID, Output: task.Args})
	}
	for i, f := range fs {
		res, err := f.Result(b.ctx)
		var got int
		if err != nil || res.Output(&got) != nil || got != i {
			t.Fatalf("future %d: %v, output %d", i, err, got)
		}
	}
	if tasks, posts := len(b.srv.Tasks()), b.srv.Requests("POST /v1/tasks"); tasks != 100 || posts < 2 {
		t.Fatalf("%d tasks stored after %d POSTs, want 100 after a retry", tasks, posts)
	}
}

func TestExecutorStartsAtNewestResult(t *testing.T) {
	t.Parallel()
	// A page of 10 results: skimming the 3,000 old ones would take 300
	// polls; finding the newest takes a few dozen probes.
	b := setup(t, clienttest.Config{Run: clienttest.Echo}, func(c *client.Config) { c.PollLimit = 10 })
	old := make([]api.TaskResult, 3000)
	for i := range old {
		old[i].TaskID = fmt.Sprintf("old-%d", i)
	}
	b.srv.Complete(old...)
	res, err := b.c.Executor(b.endpointID).Submit(b.goFunc, 5).Result(b.ctx)
	if err != nil || string(res.TaskResult.Output) != "5" {
		t.Fatalf("Result = %+v, %v", res, err)
	}
	if polls := b.srv.Requests("GET /v1/results"); polls > 40 {
		t.Fatalf("%d results requests, want the history skipped", polls)
	}
}

func TestFutureContext(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)
	fs, err := b.c.Executor(b.endpointID).Map(b.ctx, b.goFunc, []any{1})
	if err != nil {
		t.Fatal(err)
	}
	f := fs[0]
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	if _, err := f.Result(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	short, cancel := context.WithTimeout(b.ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := f.Result(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-f.Done():
		t.Fatal("future resolved without a result")
	default:
	}
	// The future still resolves once the result comes.
	b.srv.Complete(api.TaskResult{TaskID: f.TaskID(), Output: []byte(`"late"`)})
	if res, err := f.Result(b.ctx); err != nil || string(res.TaskResult.Output) != `"late"` {
		t.Fatalf("Result = %v, %v", res, err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()

	t.Run("pending futures fail", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, func(c *client.Config) { c.BatchDelay = time.Hour })
		flushed := b.c.Executor(b.endpointID)
		sent := flushed.Submit(b.goFunc, 1)
		_ = flushed.Close() // sends it; the fake never answers
		ex := b.c.Executor(b.endpointID)
		queued := ex.Submit(b.goFunc, 2) // held by the hour-long batch delay
		if err := b.c.Close(); err != nil {
			t.Fatal(err)
		}
		if b.srv.Requests("POST /v1/tasks") != 1 {
			t.Fatal("the flushed task was not posted")
		}
		for _, f := range []*client.Future{sent, queued} {
			if _, err := f.Result(b.ctx); !errors.Is(err, client.ErrClosed) {
				t.Fatalf("err = %v, want ErrClosed", err)
			}
		}
		if _, err := ex.Submit(b.goFunc, 3).Result(b.ctx); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("submit after Close: %v", err)
		}
		if _, err := b.c.Executor(b.endpointID).Submit(b.goFunc, 4).Result(b.ctx); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("executor after Close: %v", err)
		}
		_ = ex.Close()
		_ = b.c.Close()
	})

	t.Run("executor close flushes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{Run: clienttest.Echo}, func(c *client.Config) { c.BatchDelay = time.Hour })
		ex := b.c.Executor(b.endpointID)
		fs := []*client.Future{ex.Submit(b.goFunc, 1), ex.Submit(b.goFunc, 2)}
		if err := ex.Close(); err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if _, err := f.Result(b.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if posts := b.srv.Requests("POST /v1/tasks"); posts != 1 {
			t.Fatalf("%d POSTs, want 1", posts)
		}
		if _, err := ex.Submit(b.goFunc, 3).Result(b.ctx); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("submit after Close: %v", err)
		}
	})
}

func TestResultsPollRefused(t *testing.T) {
	t.Parallel()
	t.Run("long polls", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{Run: clienttest.Echo}, func(c *client.Config) { c.DisableResultsStream = true })
		ex := b.c.Executor(b.endpointID)
		// One task done: the poll loop has started and is idle.
		if _, err := ex.Submit(b.goFunc, 1).Result(b.ctx); err != nil {
			t.Fatal(err)
		}
		b.srv.FailNext("GET /v1/results", 1, http.StatusForbidden, "forbidden")
		// The poll is refused: the waiting future fails instead of hanging.
		if _, err := ex.Submit(b.goFunc, 2).Result(b.ctx); !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
		// A later submission polls again.
		if _, err := ex.Submit(b.goFunc, 3).Result(b.ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("streams", func(t *testing.T) {
		t.Parallel()
		// Streams that end at once when no result comes, so that the
		// next one soon asks again.
		b := setup(t, clienttest.Config{Run: clienttest.Echo}, func(c *client.Config) { c.PollWait = time.Millisecond })
		ex := b.c.Executor(b.endpointID)
		if _, err := ex.Submit(b.goFunc, 1).Result(b.ctx); err != nil {
			t.Fatal(err)
		}
		b.srv.FailNext("GET /v1/results", 1, http.StatusForbidden, "forbidden")
		// Results may still come on the stream that was open; the next
		// stream is refused, and the future waiting then fails.
		for i := 2; ; i++ {
			_, err := ex.Submit(b.goFunc, i).Result(b.ctx)
			if errors.Is(err, client.ErrForbidden) {
				break
			}
			if err != nil || i > 1000 {
				t.Fatalf("task %d: err = %v, want ErrForbidden once the stream is refused", i, err)
			}
		}
		if _, err := ex.Submit(b.goFunc, 0).Result(b.ctx); err != nil {
			t.Fatal(err)
		}
	})
}
