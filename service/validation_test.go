package service_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

// TestNamesRefused: names are shown to people (listings, logs,
// terminals), so text that displays as something else is refused, as
// endpoint names always refused control characters.
func TestNamesRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct{ name, bad, want string }{
		{"NUL", "f\x00", "U+0000"},
		{"escape", "f\x1b[2J", "U+001B"},
		{"bidi override", "txt.\u202eexe", "U+202E"},
		{"bidi isolate", "a\u2066b", "U+2066"},
		{"zero-width space", "a\u200bb", "U+200B"},
		{"line separator", "a\u2028b", "U+2028"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, req := range []any{
				api.RegisterFunctionRequest{Name: tc.bad, Kind: "shell", Argv: []string{"true"}},
				api.RegisterFunctionRequest{Name: "f", Kind: "go", GoName: tc.bad},
				api.RegisterFunctionRequest{Name: "f", Kind: "shell", Argv: []string{"true"}, ContainerImage: tc.bad},
			} {
				code, data := b.do(t, "POST", api.PathFunctions, b.alice.token, req)
				wantError(t, code, data, http.StatusBadRequest, tc.want)
			}
			for _, req := range []api.RegisterEndpointRequest{{Name: tc.bad}, {Name: "ep", DisplayName: tc.bad}, {Name: "ep", Version: tc.bad}} {
				code, data := b.do(t, "POST", api.PathEndpoints, b.alice.token, req)
				wantError(t, code, data, http.StatusBadRequest, tc.want)
			}
		})
	}
	t.Run("NUL in argv, script or dir", func(t *testing.T) {
		t.Parallel()
		for _, req := range []api.RegisterFunctionRequest{
			{Kind: "shell", Argv: []string{"echo", "a\x00b"}},
			{Kind: "shell", Script: "echo a\x00b"},
			{Kind: "shell", Script: "true", Dir: "/tmp\x00"},
		} {
			code, data := b.do(t, "POST", api.PathFunctions, b.alice.token, req)
			wantError(t, code, data, http.StatusBadRequest, "NUL")
		}
	})
	t.Run("ordinary names pass", func(t *testing.T) {
		t.Parallel()
		b.registerFunction(t, b.alice, api.RegisterFunctionRequest{Name: "résumé 数据 🙂", Kind: "shell", Argv: []string{"true"}})
		b.mustDo(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{Name: "größe", DisplayName: "Größe – cluster", Version: "1.0"}, nil)
	})
}

// TestReservedIDsRefused: the nil and max UUIDs are what a zero or
// uninitialised value looks like, so no ID the API takes may be one.
func TestReservedIDsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "00000000000000000000000000000000", "urn:uuid:00000000-0000-0000-0000-000000000000"} {
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"POST", api.PathEndpoints, api.RegisterEndpointRequest{EndpointID: id, Name: "ep"}},
			{"GET", api.PathEndpoint + id, nil},
			{"DELETE", api.PathEndpoint + id, nil},
			{"GET", api.PathFunction + id, nil},
			{"POST", api.PathTasks, api.SubmitRequest{EndpointID: id, Tasks: []api.TaskSubmit{{FunctionID: fn}}}},
			{"POST", api.PathTasks, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: id}}}},
			{"POST", api.PathTasks, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: fn, TaskID: id}}}},
			{"GET", api.PathTask + id, nil},
			{"POST", api.PathTaskStatus, api.TaskStatusRequest{TaskIDs: []string{id}}},
		} {
			code, data := b.do(t, req.method, req.path, b.alice.token, req.body)
			if code != http.StatusBadRequest || !bytes.Contains(data, []byte("reserved UUID")) {
				t.Errorf("%s %s with %s: %d %s, want 400 reserved UUID", req.method, req.path, id, code, data)
			}
		}
	}
}

// TestTaskIDClash: reusing a task ID answers the same whoever used it
// first, so that the answer discloses nothing of another identity.
func TestTaskIDClash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	aliceEP, bobEP := b.registerEndpoint(t, b.alice), b.registerEndpoint(t, b.bob)
	aliceFn, aliceFn2, bobFn := b.registerFunction(t, b.alice, echo), b.registerFunction(t, b.alice, echo), b.registerFunction(t, b.bob, echo)
	id := funcx.NewTaskID().String()
	b.mustDo(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: aliceEP, Tasks: []api.TaskSubmit{{TaskID: id, FunctionID: aliceFn}}}, nil)

	ownCode, own := b.do(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: aliceEP, Tasks: []api.TaskSubmit{{TaskID: id, FunctionID: aliceFn2}}})
	otherCode, other := b.do(t, "POST", api.PathTasks, b.bob.token, api.SubmitRequest{EndpointID: bobEP, Tasks: []api.TaskSubmit{{TaskID: id, FunctionID: bobFn}}})
	if ownCode != otherCode || !bytes.Equal(own, other) {
		t.Fatalf("a clash with one's own task answers %d %s\nbut with another identity's %d %s", ownCode, own, otherCode, other)
	}
	wantError(t, otherCode, other, http.StatusConflict, "tasks[0].task_id "+id+" is already in use: submit this task with a new task_id")
	if bytes.Contains(other, []byte("another")) {
		t.Fatalf("the answer hints at another task: %s", other)
	}
}
