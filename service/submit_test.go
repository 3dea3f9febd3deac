package service_test

import (
	"context"
	"encoding/json"
	"errors"
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

func TestSubmit(t *testing.T) {
	t.Parallel()

	t.Run("publishes the resolved tasks", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		fn := b.registerFunction(t, b.alice, echo)
		goFn := b.registerFunction(t, b.alice, api.RegisterFunctionRequest{Kind: "go", GoName: "sum"})
		mine := uuid.NewString()
		req := api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{
			{FunctionID: fn, Args: json.RawMessage(`{"msg":"hi"}`), Stdin: []byte("in")},
			{TaskID: mine, FunctionID: goFn, Args: json.RawMessage(`[1,2]`)},
		}}
		var resp api.SubmitResponse
		b.mustDo(t, "POST", api.PathTasks, b.alice.token, req, &resp)
		if len(resp.TaskIDs) != 2 || resp.TaskIDs[1] != mine {
			t.Fatalf("task IDs %v", resp.TaskIDs)
		}

		batches := b.broker.published(ep)
		if len(batches) != 1 || len(batches[0]) != 2 {
			t.Fatalf("broker got %d batches, want one of 2 tasks", len(batches))
		}
		sh, gt := batches[0][0], batches[0][1]
		if sh.ID.String() != resp.TaskIDs[0] || sh.Function.Kind != funcx.KindShell || strings.Join(sh.Function.Argv, " ") != "echo {msg}" ||
			sh.Function.Timeout != 5*time.Second || string(sh.Args) != `{"msg":"hi"}` || string(sh.Stdin) != "in" || sh.Container != "alpine" {
			t.Errorf("shell task %+v", sh)
		}
		if gt.ID.String() != mine || gt.Function.Kind != funcx.KindGo || gt.Function.Name != "sum" || string(gt.Args) != "[1,2]" || gt.Container != "" {
			t.Errorf("go task %+v", gt)
		}

		var st api.TaskStatus
		b.mustDo(t, "GET", api.PathTask+mine, b.alice.token, nil, &st)
		if st.State != "waiting-for-ep" || st.EndpointID != ep || st.FunctionID != goFn || st.Result != nil {
			t.Fatalf("status %+v", st)
		}
		if m := b.metrics(t); !strings.Contains(m, "funcx_service_tasks_submitted_total 2") {
			t.Fatalf("submitted counter missing")
		}
	})

	t.Run("idempotent with client task IDs", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		fn := b.registerFunction(t, b.alice, echo)
		req := api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{TaskID: uuid.NewString(), FunctionID: fn}, {TaskID: uuid.NewString(), FunctionID: fn}}}
		var first, second api.SubmitResponse
		b.mustDo(t, "POST", api.PathTasks, b.alice.token, req, &first)
		b.mustDo(t, "POST", api.PathTasks, b.alice.token, req, &second)
		if fmt.Sprint(first) != fmt.Sprint(second) {
			t.Fatalf("resubmission gave %v, first %v", second, first)
		}
		if n := len(b.broker.published(ep)); n != 1 {
			t.Fatalf("broker got %d batches, want 1", n)
		}
		if m := b.metrics(t); !strings.Contains(m, "funcx_service_tasks_submitted_total 2") {
			t.Fatalf("a resubmission was counted again")
		}

		// A new task alongside an old one: only the new one is published.
		req.Tasks = append(req.Tasks, api.TaskSubmit{FunctionID: fn})
		b.mustDo(t, "POST", api.PathTasks, b.alice.token, req, nil)
		if batches := b.broker.published(ep); len(batches) != 2 || len(batches[1]) != 1 {
			t.Fatalf("broker got %v", batches)
		}
	})

	t.Run("broker failure then retry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		fn := b.registerFunction(t, b.alice, echo)
		mine := uuid.NewString()
		req := api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{TaskID: mine, FunctionID: fn}, {FunctionID: fn}}}

		b.broker.setPublishErr(errors.New("connection lost"))
		code, data := b.do(t, "POST", api.PathTasks, b.alice.token, req)
		wantError(t, code, data, http.StatusServiceUnavailable, "connection lost")
		var st api.TaskStatus
		b.mustDo(t, "GET", api.PathTask+mine, b.alice.token, nil, &st)
		if st.State != "waiting-for-ep" {
			t.Fatalf("kept task in state %s", st.State)
		}
		if m := b.metrics(t); !strings.Contains(m, "funcx_service_publish_failures_total 1") || !strings.Contains(m, "funcx_service_tasks_submitted_total 0") {
			t.Fatalf("failure counters wrong")
		}

		b.broker.setPublishErr(nil)
		var resp api.SubmitResponse
		b.mustDo(t, "POST", api.PathTasks, b.alice.token, req, &resp)
		batches := b.broker.published(ep)
		if len(batches) != 1 || len(batches[0]) != 2 || batches[0][0].ID.String() != mine {
			t.Fatalf("retry published %v", batches)
		}
		// Published now: the sweeper leaves it alone.
		b.clock.Add(service.DefaultPublishRetryWindow + time.Second)
		b.svc.SweepNow(context.Background())
		b.mustDo(t, "GET", api.PathTask+mine, b.alice.token, nil, &st)
		if st.State != "waiting-for-ep" {
			t.Fatalf("published task swept: %+v", st)
		}
	})

	t.Run("unpublished task fails after the retry window", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *service.Config) { c.PublishRetryWindow = time.Minute })
		ep := b.registerEndpoint(t, b.alice)
		fn := b.registerFunction(t, b.alice, echo)
		mine := uuid.NewString()
		b.broker.setPublishErr(errors.New("down"))
		code, _ := b.do(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{TaskID: mine, FunctionID: fn}}})
		if code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", code)
		}
		b.svc.SweepNow(context.Background()) // too early: kept
		b.clock.Add(time.Minute + time.Second)
		b.svc.SweepNow(context.Background())
		var st api.TaskStatus
		b.mustDo(t, "GET", api.PathTask+mine, b.alice.token, nil, &st)
		if st.State != "failed" || st.Result == nil || st.Result.Error == nil || st.Result.Error.Kind != "InternalError" {
			t.Fatalf("status %+v", st)
		}
	})

	t.Run("ownership", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		aliceEP, bobEP := b.registerEndpoint(t, b.alice), b.registerEndpoint(t, b.bob)
		aliceFn, bobFn := b.registerFunction(t, b.alice, echo), b.registerFunction(t, b.bob, echo)

		code, data := b.do(t, "POST", api.PathTasks, b.bob.token, api.SubmitRequest{EndpointID: aliceEP, Tasks: []api.TaskSubmit{{FunctionID: bobFn}}})
		wantError(t, code, data, http.StatusNotFound, "endpoint "+aliceEP+" not found")
		code, data = b.do(t, "POST", api.PathTasks, b.bob.token, api.SubmitRequest{EndpointID: bobEP, Tasks: []api.TaskSubmit{{FunctionID: aliceFn}}})
		wantError(t, code, data, http.StatusNotFound, "tasks[0].function_id: function "+aliceFn+" not found")

		ids := b.submit(t, b.alice, aliceEP, aliceFn, 1)
		code, data = b.do(t, "GET", api.PathTask+ids[0], b.bob.token, nil)
		wantError(t, code, data, http.StatusNotFound, "not found")
		// Reusing alice's task ID is a conflict, and stores nothing.
		code, data = b.do(t, "POST", api.PathTasks, b.bob.token, api.SubmitRequest{EndpointID: bobEP, Tasks: []api.TaskSubmit{{FunctionID: bobFn}, {TaskID: ids[0], FunctionID: bobFn}}})
		wantError(t, code, data, http.StatusConflict, "already in use")
		if n := len(b.broker.published(bobEP)); n != 0 {
			t.Fatalf("bob's conflicting batch was published")
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *service.Config) { c.MaxTasksPerSubmit = 3 })
		ep := b.registerEndpoint(t, b.alice)
		fn := b.registerFunction(t, b.alice, echo)
		py := b.registerFunction(t, b.alice, api.RegisterFunctionRequest{Name: "py", Kind: "python", Source: "def f(*a, **k):\n    return a\n", Entry: "f"})
		dup := uuid.NewString()
		for _, tc := range []struct {
			name string
			req  api.SubmitRequest
			code int
			want string
		}{
			{"no tasks", api.SubmitRequest{EndpointID: ep}, 400, "tasks is empty"},
			{"too many", api.SubmitRequest{EndpointID: ep, Tasks: make([]api.TaskSubmit, 4)}, 400, "4 tasks exceed the limit of 3"},
			{"bad endpoint", api.SubmitRequest{EndpointID: "x", Tasks: []api.TaskSubmit{{FunctionID: fn}}}, 400, "not a UUID"},
			{"unknown endpoint", api.SubmitRequest{EndpointID: uuid.NewString(), Tasks: []api.TaskSubmit{{FunctionID: fn}}}, 404, "not found"},
			{"bad function", api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: "f"}}}, 400, `tasks[0].function_id "f" is not a UUID`},
			{"bad task ID", api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{TaskID: "t", FunctionID: fn}}}, 400, `tasks[0].task_id "t" is not a UUID`},
			{"python args not an object", api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: py, Args: json.RawMessage(`{"args":[]}`)}, {FunctionID: py, Args: json.RawMessage(`[1,2]`)}}}, 400, `tasks[1].args: python arguments must be a JSON object {"args": [...], "kwargs": {...}}`},
			{"python args unknown key", api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: py, Args: json.RawMessage(`{"x":1}`)}}}, 400, `unknown key "x"`},
			{"repeated task ID", api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{TaskID: dup, FunctionID: fn}, {TaskID: dup, FunctionID: fn}}}, 400, "tasks[1].task_id " + dup + " repeats tasks[0]"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, data := b.do(t, "POST", api.PathTasks, b.alice.token, tc.req)
				wantError(t, code, data, tc.code, tc.want)
			})
		}
	})

	t.Run("task too large for the broker", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		fn := b.registerFunction(t, b.alice, echo)
		mine := uuid.NewString()
		b.broker.setPublishErr(fmt.Errorf("task %s: %w", mine, broker.ErrTooLarge))
		code, data := b.do(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{TaskID: mine, FunctionID: fn}}})
		wantError(t, code, data, http.StatusRequestEntityTooLarge, "too large for the broker")
		code, data = b.do(t, "GET", api.PathTask+mine, b.alice.token, nil)
		wantError(t, code, data, http.StatusNotFound, "not found")
	})
}
