package service_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

func TestRequestLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.MaxRequestBytes = 1024 })
	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`

	t.Run("413 with a declared length", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "POST", api.PathFunctions, b.alice.token, big)
		wantError(t, code, data, http.StatusRequestEntityTooLarge, "exceeds the limit of 1024 bytes")
	})
	t.Run("413 streamed", func(t *testing.T) {
		t.Parallel()
		// No Content-Length: the limit is found while reading.
		req := httptest.NewRequest("POST", api.PathTasks, io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+b.alice.token)
		rec := httptest.NewRecorder()
		b.svc.Handler().ServeHTTP(rec, req)
		wantError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "exceeds the limit")
	})
	t.Run("413 form token request", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequest("POST", api.PathToken, strings.NewReader("client_id="+strings.Repeat("x", 2000)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		b.svc.Handler().ServeHTTP(rec, req)
		wantError(t, rec.Code, rec.Body.Bytes(), http.StatusRequestEntityTooLarge, "exceeds the limit")
	})

	for _, tc := range []struct{ name, body, want string }{
		{"empty", "", "the request body is empty"},
		{"syntax", `{"name": x}`, "malformed JSON at byte offset 10"},
		{"truncated", `{"name": "x"`, "ends in the middle of a value"},
		{"unknown field", `{"name":"x","kind":"go","go_name":"f","colour":"red"}`, `unknown field "colour"`},
		{"wrong type", `{"name": 5}`, "field name: got JSON number, want string"},
		{"trailing data", `{"name":"x","kind":"go","go_name":"f"} {}`, "unexpected data after the JSON value"},
		{"not an object", `[1]`, "got JSON array"},
	} {
		t.Run("400 "+tc.name, func(t *testing.T) {
			t.Parallel()
			code, data := b.do(t, "POST", api.PathFunctions, b.alice.token, tc.body)
			wantError(t, code, data, http.StatusBadRequest, tc.want)
		})
	}

	t.Run("unknown route", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "GET", "/v2/nothing", b.alice.token, nil)
		wantError(t, code, data, http.StatusNotFound, "no route GET /v2/nothing")
	})
	t.Run("health", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "GET", api.PathHealth, "", nil)
		if code != http.StatusOK || string(data) != "ok\n" {
			t.Fatalf("%d %q", code, data)
		}
	})
}

// panickyStore panics where the service reads endpoints.
type panickyStore struct{ service.Store }

func (panickyStore) Endpoints(context.Context, string) ([]service.Endpoint, error) { panic("boom") }

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.Store = panickyStore{c.Store} })
	code, data := b.do(t, "GET", api.PathEndpoints, b.alice.token, nil)
	wantError(t, code, data, http.StatusInternalServerError, "internal error")
	b.mustDo(t, "GET", api.PathWhoami, b.alice.token, nil, nil) // still serving
	if m := b.metrics(t); !strings.Contains(m, `funcx_service_http_requests_total{code="500",route="GET /v1/endpoints"} 1`) {
		t.Fatalf("metrics lack the 500:\n%s", m)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, "GET", api.PathWhoami, "", nil)
	m := b.metrics(t)
	for _, want := range []string{
		`funcx_service_http_requests_total{code="401",route="GET /v1/whoami"} 1`,
		`funcx_service_http_requests_total{code="200",route="POST /v1/token"} 2`,
		"funcx_service_tasks_submitted_total 0",
		"funcx_service_tasks_completed_total 0",
		"funcx_service_duplicate_results_total 0",
		"funcx_service_endpoints_online 0",
		"funcx_service_task_latency_seconds_bucket",
		"funcx_service_publish_failures_total 0",
		"funcx_service_body_bytes_in_flight 0",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
