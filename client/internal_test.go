package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

func TestFutureResolvesOnce(t *testing.T) {
	t.Parallel()
	f := newFuture("t1")
	if !f.complete(api.TaskResult{TaskID: "t1", Output: json.RawMessage("1")}) {
		t.Fatal("first result refused")
	}
	if f.complete(api.TaskResult{TaskID: "t1", Output: json.RawMessage("2")}) || f.fail(ErrClosed) {
		t.Fatal("a second outcome was taken")
	}
	res, err := f.Result(t.Context())
	if err != nil || string(res.TaskResult.Output) != "1" || f.sendErr != nil {
		t.Fatalf("Result = %+v, %v", res, err)
	}
}

func TestChunkTasks(t *testing.T) {
	t.Parallel()
	tasks := make([]api.TaskSubmit, 25)
	var sizes []int
	for c := range chunkTasks(tasks, 10) {
		sizes = append(sizes, len(c))
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[2] != 5 {
		t.Fatalf("chunks %v", sizes)
	}
	for range chunkTasks(nil, 10) {
		t.Fatal("a chunk of nothing")
	}
	// Three tasks of 10 MiB of stdin each, about 40 MiB in base64: over
	// api.MaxRequestBytes in one request.
	stdin := make([]byte, 10<<20)
	big := []api.TaskSubmit{{Stdin: stdin}, {Stdin: stdin}, {Stdin: stdin}}
	sizes = sizes[:0]
	for c := range chunkTasks(big, 10) {
		sizes = append(sizes, len(c))
	}
	if len(sizes) < 2 {
		t.Fatalf("chunks %v, want the body split", sizes)
	}
}

func TestTaskErrorKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		r    api.TaskResult
		want error
		kind funcx.ErrorKind
	}{
		{"success", api.TaskResult{State: "success"}, nil, funcx.NoError},
		{"timeout", api.TaskResult{State: "failed", Error: &api.TaskError{Kind: "TaskTimeout", Message: "ran 30s"}}, funcx.ErrTaskTimeout, funcx.TaskTimeout},
		{"endpoint deleted", api.TaskResult{State: "failed", Error: &api.TaskError{Kind: "EndpointDeleted", Message: "endpoint e was deleted"}}, funcx.ErrEndpointDeleted, funcx.EndpointDeleted},
		{"unknown kind", api.TaskResult{State: "failed", Error: &api.TaskError{Kind: "Meteor", Message: "hit"}}, nil, funcx.InternalError},
		{"failed without error", api.TaskResult{State: "failed"}, nil, funcx.InternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			te := taskError(&tc.r)
			if te == nil {
				if tc.kind != funcx.NoError {
					t.Fatalf("no error, want %v", tc.kind)
				}
				return
			}
			if te.Kind != tc.kind || (tc.want != nil && !errors.Is(te, tc.want)) {
				t.Fatalf("got %v, want kind %v", te, tc.kind)
			}
		})
	}
}

// A 410 (a deleted endpoint) is ErrGone and, since what was deleted for
// good does not exist, ErrNotFound too.
func TestGoneIsNotFound(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("submit: %w", parseAPIError(http.StatusGone, []byte(`{"error":{"code":"endpoint_deleted","message":"endpoint e was deleted"}}`)))
	if !errors.Is(err, ErrGone) || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Fatalf("410: %v is not ErrGone and ErrNotFound", err)
	}
	if errors.Is(parseAPIError(http.StatusNotFound, nil), ErrGone) {
		t.Fatal("404 is ErrGone")
	}
}

// FuzzParseAPIError feeds error bodies as any server or proxy might send.
func FuzzParseAPIError(f *testing.F) {
	f.Add(503, []byte(`{"error":{"code":"unavailable","message":"broker down"}}`))
	f.Add(502, []byte("<html>bad gateway</html>"))
	f.Add(404, []byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseAPIError(status, body)
		if e.Status != status || len(e.Message) > maxErrorText && e.Code == "" {
			t.Fatalf("parseAPIError(%d) = %+v", status, e)
		}
		_ = e.Error()
	})
}

// FuzzTaskResult decodes result pages as the watcher does.
func FuzzTaskResult(f *testing.F) {
	f.Add([]byte(`{"results":[{"task_id":"a","seq":1,"state":"failed","error":{"kind":"WorkerLost","message":"x"}}],"next":1}`))
	f.Add([]byte(`{"results":[{"task_id":"a","output":{"x":1}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var page api.ResultsPage
		if json.Unmarshal(body, &page) != nil {
			return
		}
		for _, r := range page.Results {
			res, _ := newResult(r)
			var v any
			_ = res.Output(&v)
			_ = res.Err()
			_ = res.State()
		}
		_ = maxSeq(page.Results)
	})
}
