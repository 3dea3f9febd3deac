package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	ok := client.Config{ServiceURL: "http://127.0.0.1:1", Token: "t"}
	for _, tc := range []struct {
		name string
		mod  func(*client.Config)
		want string // in the error
	}{
		{"no URL", func(c *client.Config) { c.ServiceURL = "" }, "ServiceURL is empty"},
		{"URL without scheme", func(c *client.Config) { c.ServiceURL = "funcx.example.org" }, "ServiceURL"},
		{"no credentials", func(c *client.Config) { c.Token = "" }, "no credentials"},
		{"token and client", func(c *client.Config) { c.ClientID = "id" }, "Token and ClientID"},
		{"secret without id", func(c *client.Config) { c.Token, c.ClientSecret = "", "s" }, "ClientID is empty"},
		{"batch too big", func(c *client.Config) { c.MaxBatch = api.MaxTasksPerSubmit + 1 }, "MaxBatch"},
		{"no submissions in flight", func(c *client.Config) { c.MaxSubmitsInFlight = -1 }, "MaxSubmitsInFlight"},
		{"poll wait too long", func(c *client.Config) { c.PollWait = time.Hour }, "PollWait"},
		{"negative timeout", func(c *client.Config) { c.RequestTimeout = -time.Second }, "RequestTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.mod(&cfg)
			_, err := client.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		c, err := client.New(ok)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	})
	t.Run("defaults on a copy", func(t *testing.T) {
		t.Parallel()
		cfg := ok
		d := cfg.WithDefaults()
		if cfg.MaxBatch != 0 || d.MaxBatch != client.DefaultMaxBatch || d.MaxSubmitsInFlight != client.DefaultMaxSubmitsInFlight || d.PollWait != client.DefaultPollWait || d.HTTPClient == nil || d.Logger == nil {
			t.Fatalf("WithDefaults: %+v from %+v", d, cfg)
		}
	})
}

func TestTypedCalls(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)

	t.Run("whoami", func(t *testing.T) {
		t.Parallel()
		id, err := b.c.Whoami(b.ctx)
		if err != nil || *id != b.srv.Identity() {
			t.Fatalf("Whoami = %+v, %v", id, err)
		}
	})
	t.Run("function round trip", func(t *testing.T) {
		t.Parallel()
		fn, err := b.c.GetFunction(b.ctx, b.shellFunc)
		if err != nil || fn.Script != "echo {x}" || fn.Kind != "shell" {
			t.Fatalf("GetFunction = %+v, %v", fn, err)
		}
	})
	t.Run("endpoints", func(t *testing.T) {
		t.Parallel()
		reg, err := b.c.RegisterEndpoint(b.ctx, api.RegisterEndpointRequest{Name: "cluster"})
		if err != nil || reg.EndpointID == "" {
			t.Fatalf("RegisterEndpoint = %+v, %v", reg, err)
		}
		st, err := b.c.EndpointStatus(b.ctx, reg.EndpointID)
		if err != nil || st.Name != "cluster" {
			t.Fatalf("EndpointStatus = %+v, %v", st, err)
		}
		if err := b.c.DeleteEndpoint(b.ctx, reg.EndpointID); err != nil {
			t.Fatal(err)
		}
		list, err := b.c.ListEndpoints(b.ctx)
		if err != nil || len(list) != 1 || list[0].EndpointID != b.endpointID {
			t.Fatalf("ListEndpoints = %+v, %v", list, err)
		}
	})
	t.Run("submit and status", func(t *testing.T) {
		t.Parallel()
		tasks := []api.TaskSubmit{{FunctionID: b.goFunc}, {FunctionID: b.goFunc, TaskID: "11111111-1111-4111-8111-111111111111"}}
		ids, err := b.c.Submit(b.ctx, b.endpointID, tasks)
		if err != nil || len(ids) != 2 || ids[0] == "" || ids[1] != tasks[1].TaskID {
			t.Fatalf("Submit = %v, %v", ids, err)
		}
		if tasks[0].TaskID != "" {
			t.Fatal("Submit wrote the caller's slice")
		}
		sts, err := b.c.TaskStatus(b.ctx, append(ids, "unknown")...)
		if err != nil || len(sts) != 2 || sts[0].State != "waiting-for-ep" {
			t.Fatalf("TaskStatus = %+v, %v", sts, err)
		}
	})
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)
	foreign := b.srv.AddEndpoint(api.EndpointStatus{Name: "theirs", Owner: "someone-else"})

	for _, tc := range []struct {
		name   string
		call   func() error
		want   error
		status int
	}{
		{"unknown endpoint", func() error { _, err := b.c.EndpointStatus(b.ctx, "nope"); return err }, client.ErrNotFound, http.StatusNotFound},
		{"unknown function", func() error { _, err := b.c.GetFunction(b.ctx, "nope"); return err }, client.ErrNotFound, http.StatusNotFound},
		{"submit to unknown endpoint", func() error {
			_, err := b.c.Submit(b.ctx, "nope", []api.TaskSubmit{{FunctionID: b.goFunc}})
			return err
		}, client.ErrNotFound, http.StatusNotFound},
		{"submit to another's endpoint", func() error {
			_, err := b.c.Submit(b.ctx, foreign, []api.TaskSubmit{{FunctionID: b.goFunc}})
			return err
		}, client.ErrForbidden, http.StatusForbidden},
		{"bad function", func() error {
			_, err := b.c.RegisterFunction(b.ctx, api.RegisterFunctionRequest{Name: "x", Kind: "python"})
			return err
		}, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.call()
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Message == "" {
				t.Fatalf("got %v, want an APIError with status %d", err, tc.status)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tc.want)
			}
			if errors.Is(err, client.ErrUnauthorized) {
				t.Fatalf("%v matches ErrUnauthorized", err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	t.Run("idempotent call retried after 503", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, nil)
		b.srv.FailNext("GET /v1/endpoints", 2, http.StatusServiceUnavailable, "unavailable")
		if _, err := b.c.ListEndpoints(b.ctx); err != nil {
			t.Fatal(err)
		}
		if n := b.srv.Requests("GET /v1/endpoints"); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("registration not retried", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, nil)
		before := b.srv.Requests("POST /v1/functions")
		b.srv.FailNext("POST /v1/functions", 1, http.StatusServiceUnavailable, "unavailable")
		_, err := b.c.RegisterFunction(b.ctx, api.RegisterFunctionRequest{Name: "f", Kind: "go", GoName: "f"})
		if !errors.Is(err, client.ErrUnavailable) || b.srv.Requests("POST /v1/functions") != before+1 {
			t.Fatalf("err %v after %d requests", err, b.srv.Requests("POST /v1/functions")-before)
		}
	})
	t.Run("gives up after MaxRetries", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, func(c *client.Config) { c.MaxRetries, c.RetryFor = 1, -1 })
		b.srv.FailNext("GET /v1/whoami", 5, http.StatusBadGateway, "")
		_, err := b.c.Whoami(b.ctx)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || b.srv.Requests("GET /v1/whoami") != 2 {
			t.Fatalf("err %v after %d requests", err, b.srv.Requests("GET /v1/whoami"))
		}
	})
}
