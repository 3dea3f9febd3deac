package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

func TestResultConsumer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	ids := b.submit(t, b.alice, ep, fn, 2)
	id0, id1 := mustParse(t, ids[0]), mustParse(t, ids[1])
	b.clock.Add(2 * time.Second)

	finished := b.clock.Now().Add(-time.Second)
	b.broker.deliver(t, ep, broker.Message{Results: []funcx.Result{
		{TaskID: id0, State: funcx.StateSuccess, Output: []byte(`{"sum":3}`), ExitCode: 0, Manager: "m1", Worker: 2, Attempt: 1, Times: funcx.Timings{Finished: finished}},
		{TaskID: id0, State: funcx.StateFailed, Error: funcx.Errorf(funcx.WorkerLost, "late duplicate")}, // same batch
		{TaskID: id1, State: funcx.StateRunning},               // not terminal
		{TaskID: funcx.NewTaskID(), State: funcx.StateSuccess}, // unknown
	}})
	// A redelivery of the same result, and a result from the wrong endpoint.
	b.broker.deliver(t, ep, broker.Message{Results: []funcx.Result{{TaskID: id0, State: funcx.StateFailed, Error: funcx.Errorf(funcx.WorkerLost, "x")}}})
	other := b.registerEndpoint(t, b.alice)
	b.broker.deliver(t, other, broker.Message{Results: []funcx.Result{{TaskID: id1, State: funcx.StateSuccess}}})

	var st api.TaskStatus
	b.mustDo(t, "GET", api.PathTask+ids[0], b.alice.token, nil, &st)
	r := st.Result
	if st.State != "success" || r == nil || r.State != "success" || string(r.Output) != `{"sum":3}` || r.Error != nil ||
		r.Manager != "m1" || r.Worker != 2 || r.Attempt != 1 || r.Seq != 1 || r.EndpointID != ep ||
		!r.Times.Finished.Equal(finished) || !r.Times.Stored.Equal(b.clock.Now()) || r.Times.Stored.Sub(r.Times.Submitted) != 2*time.Second {
		t.Fatalf("first terminal result did not win: %+v %+v", st, r)
	}
	st = api.TaskStatus{}
	b.mustDo(t, "GET", api.PathTask+ids[1], b.alice.token, nil, &st)
	if st.State != "waiting-for-ep" || st.Result != nil {
		t.Fatalf("task 1: %+v %+v", st, st.Result)
	}

	m := b.metrics(t)
	for _, want := range []string{
		"funcx_service_duplicate_results_total 2",
		`funcx_service_dropped_results_total{reason="unknown_task"} 1`,
		`funcx_service_dropped_results_total{reason="foreign_task"} 1`,
		`funcx_service_dropped_results_total{reason="not_terminal"} 1`,
		"funcx_service_tasks_completed_total 1",
		"funcx_service_task_latency_seconds_count 1",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	t.Run("failure with error", func(t *testing.T) {
		b.broker.deliver(t, ep, broker.Message{Results: []funcx.Result{{TaskID: id1, State: funcx.StateFailed, ExitCode: -1, Stderr: []byte("boom"),
			Error: &funcx.TaskError{Kind: funcx.TaskTimeout, Message: "ran 5s", Stack: "stack"}, Output: []byte("not json")}}})
		st = api.TaskStatus{}
		b.mustDo(t, "GET", api.PathTask+ids[1], b.alice.token, nil, &st)
		r := st.Result
		if st.State != "failed" || r.Seq <= 1 || r.ExitCode != -1 || string(r.Stderr) != "boom" || r.Error == nil ||
			*r.Error != (api.TaskError{Kind: "TaskTimeout", Message: "ran 5s", Stack: "stack"}) || string(r.Output) != `"not json"` {
			t.Fatalf("failed result %+v %+v", st, r)
		}
		if m := b.metrics(t); !strings.Contains(m, `funcx_service_tasks_failed_total{kind="TaskTimeout"} 1`) {
			t.Fatalf("failed counter missing")
		}
	})
}

func TestTaskStatusBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.MaxStatusIDs = 5 })
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	ids := b.submit(t, b.alice, ep, fn, 3)
	b.succeed(t, ep, ids[1])
	bobIDs := b.submit(t, b.bob, b.registerEndpoint(t, b.bob), b.registerFunction(t, b.bob, echo), 1)

	var list api.TaskStatusList
	b.mustDo(t, "POST", api.PathTaskStatus, b.alice.token, api.TaskStatusRequest{TaskIDs: []string{ids[2], uuid.NewString(), ids[1], bobIDs[0], ids[2]}}, &list)
	if len(list.Tasks) != 2 || list.Tasks[0].TaskID != ids[2] || list.Tasks[1].TaskID != ids[1] {
		t.Fatalf("status list %+v", list)
	}
	if list.Tasks[0].State != "waiting-for-ep" || list.Tasks[1].State != "success" || list.Tasks[1].Result == nil {
		t.Fatalf("states %+v", list)
	}

	code, data := b.do(t, "POST", api.PathTaskStatus, b.alice.token, api.TaskStatusRequest{TaskIDs: make([]string, 6)})
	wantError(t, code, data, http.StatusBadRequest, "6 task_ids exceed the limit of 5")
	code, data = b.do(t, "POST", api.PathTaskStatus, b.alice.token, api.TaskStatusRequest{TaskIDs: []string{"x"}})
	wantError(t, code, data, http.StatusBadRequest, `task_ids[0] "x" is not a UUID`)
}

func TestResultsLongPoll(t *testing.T) {
	t.Parallel()

	type polled struct {
		page    api.ResultsPage
		elapsed time.Duration
	}
	poll := func(b *bundle, u user, query string) <-chan polled {
		ch := make(chan polled, 1)
		go func() {
			start := time.Now()
			code, data := b.do(t, "GET", api.PathResults+"?"+query, u.token, nil)
			var p polled
			if code != http.StatusOK || jsonUnmarshal(data, &p.page) != nil {
				t.Errorf("poll %s: %d %s", query, code, data)
			}
			p.elapsed = time.Since(start)
			ch <- p
		}()
		return ch
	}

	t.Run("returns at once when results exist", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		ids := b.submit(t, b.alice, ep, b.registerFunction(t, b.alice, echo), 3)
		b.succeed(t, ep, ids...)
		p := <-poll(b, b.alice, "after=0&wait=30s&limit=2")
		if len(p.page.Results) != 2 || p.page.Next != 2 || p.page.Results[0].TaskID != ids[0] || p.elapsed > 5*time.Second {
			t.Fatalf("page %+v after %s", p.page, p.elapsed)
		}
		p = <-poll(b, b.alice, fmt.Sprintf("after=%d&wait=30s", p.page.Next))
		if len(p.page.Results) != 1 || p.page.Results[0].TaskID != ids[2] || p.page.Next != 3 {
			t.Fatalf("second page %+v", p.page)
		}
	})

	t.Run("waits for a result", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		ids := b.submit(t, b.alice, ep, b.registerFunction(t, b.alice, echo), 1)
		bobPoll := poll(b, b.bob, "wait=300ms")
		ch := poll(b, b.alice, "wait=30s")
		time.Sleep(50 * time.Millisecond) // let the polls wait
		b.succeed(t, ep, ids[0])
		p := <-ch
		if len(p.page.Results) != 1 || p.page.Results[0].TaskID != ids[0] || p.elapsed > 10*time.Second {
			t.Fatalf("page %+v after %s", p.page, p.elapsed)
		}
		if p := <-bobPoll; len(p.page.Results) != 0 || p.page.Next != 0 {
			t.Fatalf("bob sees alice's results: %+v", p.page)
		}
	})

	t.Run("times out empty", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := <-poll(b, b.alice, "after=7&wait=100ms")
		if len(p.page.Results) != 0 || p.page.Next != 7 || p.elapsed < 100*time.Millisecond {
			t.Fatalf("page %+v after %s", p.page, p.elapsed)
		}
	})

	t.Run("stop wakes polls", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ch := poll(b, b.alice, "wait=60s")
		time.Sleep(50 * time.Millisecond)
		if err := b.svc.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p := <-ch; p.elapsed > 30*time.Second {
			t.Fatalf("poll outlived Stop: %s", p.elapsed)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for q, want := range map[string]string{
			"after=-1":       `after "-1" is not an integer`,
			"limit=0":        `limit "0" is not an integer in 1..10000`,
			"limit=x":        `limit "x"`,
			"wait=forever":   `wait "forever" is not a duration`,
			"wait=-1s":       `wait "-1s"`,
			"after=1e3":      `after "1e3"`,
			"limit=10000000": "1..10000",
		} {
			code, data := b.do(t, "GET", api.PathResults+"?"+q, b.alice.token, nil)
			wantError(t, code, data, http.StatusBadRequest, want)
		}
	})
}
