package service_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()

	t.Run("register, re-register, delete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var first api.RegisterEndpointResponse
		b.mustDo(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{Name: "laptop", DisplayName: "My laptop", Version: "1.0"}, &first)
		if _, err := uuid.Parse(first.EndpointID); err != nil {
			t.Fatalf("endpoint ID %q: %v", first.EndpointID, err)
		}
		if first.Broker.TaskQueue != broker.TaskQueue(first.EndpointID) || first.Broker.Password != "secret-1" {
			t.Fatalf("broker credentials %+v", first.Broker)
		}

		var again api.RegisterEndpointResponse
		b.mustDo(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{EndpointID: first.EndpointID, Name: "laptop2"}, &again)
		if again.EndpointID != first.EndpointID || again.Broker.Password != "secret-2" {
			t.Fatalf("re-registration gave %+v, want the same ID with rotated credentials", again)
		}

		var st api.EndpointStatus
		b.mustDo(t, "GET", api.PathEndpoint+first.EndpointID, b.alice.token, nil, &st)
		if st.Name != "laptop2" || st.Owner != b.alice.id || st.Status != "offline" || st.RegisteredAt.IsZero() || !st.LastHeartbeat.IsZero() {
			t.Fatalf("status %+v", st)
		}
		var list api.EndpointList
		b.mustDo(t, "GET", api.PathEndpoints, b.alice.token, nil, &list)
		if len(list.Endpoints) != 1 || list.Endpoints[0].EndpointID != first.EndpointID {
			t.Fatalf("list %+v", list)
		}

		code, data := b.do(t, "DELETE", api.PathEndpoint+first.EndpointID, b.alice.token, nil)
		if code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", code, data)
		}
		if b.broker.deleted[0] != first.EndpointID {
			t.Fatalf("broker deleted %v", b.broker.deleted)
		}
		code, data = b.do(t, "GET", api.PathEndpoint+first.EndpointID, b.alice.token, nil)
		wantError(t, code, data, http.StatusGone, "endpoint "+first.EndpointID+" was deleted")
	})

	t.Run("client-chosen ID", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := uuid.NewString()
		var resp api.RegisterEndpointResponse
		b.mustDo(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{EndpointID: strings.ToUpper(id), Name: "x"}, &resp)
		if resp.EndpointID != id {
			t.Fatalf("endpoint ID %q, want %q", resp.EndpointID, id)
		}
	})

	t.Run("another identity's endpoint", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)

		code, data := b.do(t, "POST", api.PathEndpoints, b.bob.token, api.RegisterEndpointRequest{EndpointID: ep, Name: "mine"})
		wantError(t, code, data, http.StatusForbidden, "belongs to another identity")
		if b.broker.ensured[ep] != 1 {
			t.Fatalf("bob's attempt rotated alice's broker credentials")
		}
		code, data = b.do(t, "GET", api.PathEndpoint+ep, b.bob.token, nil)
		wantError(t, code, data, http.StatusNotFound, "endpoint "+ep+" not found")
		code, data = b.do(t, "DELETE", api.PathEndpoint+ep, b.bob.token, nil)
		wantError(t, code, data, http.StatusNotFound, "not found")
		var list api.EndpointList
		b.mustDo(t, "GET", api.PathEndpoints, b.bob.token, nil, &list)
		if len(list.Endpoints) != 0 {
			t.Fatalf("bob sees %+v", list)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		code, data := b.do(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{})
		wantError(t, code, data, http.StatusBadRequest, "name is empty")
		code, data = b.do(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{EndpointID: "nope", Name: "x"})
		wantError(t, code, data, http.StatusBadRequest, `endpoint_id "nope" is not a UUID`)
		code, data = b.do(t, "GET", api.PathEndpoint+"nope", b.alice.token, nil)
		wantError(t, code, data, http.StatusBadRequest, "not a UUID")
	})

	t.Run("broker failure", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.broker.ensureErr = errors.New("connection refused")
		code, data := b.do(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{Name: "x"})
		wantError(t, code, data, http.StatusServiceUnavailable, "connection refused")
		var list api.EndpointList
		b.mustDo(t, "GET", api.PathEndpoints, b.alice.token, nil, &list)
		if len(list.Endpoints) != 0 {
			t.Fatalf("a failed registration left %+v", list)
		}
		b.broker.mu.Lock()
		deleted := slices.Clone(b.broker.deleted)
		b.broker.mu.Unlock()
		if len(deleted) != 1 {
			t.Fatalf("the broker was asked to remove %v after the failed registration, want its one endpoint: what the broker half made stays", deleted)
		}
	})
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.HeartbeatPeriod = 10 * time.Second })
	ep := b.registerEndpoint(t, b.alice)
	status := func() api.EndpointStatus {
		var st api.EndpointStatus
		b.mustDo(t, "GET", api.PathEndpoint+ep, b.alice.token, nil, &st)
		return st
	}

	// The heartbeat's own endpoint_id is ignored: the queue says who it is.
	b.broker.deliver(t, ep, broker.Message{Heartbeat: &broker.Heartbeat{EndpointID: "spoofed", Managers: 2, Workers: 8, Outstanding: 5}})
	st := status()
	if st.Status != "online" || st.Managers != 2 || st.Workers != 8 || st.Outstanding != 5 || !st.LastHeartbeat.Equal(b.clock.Now()) {
		t.Fatalf("after a heartbeat: %+v", st)
	}
	if m := b.metrics(t); !strings.Contains(m, "funcx_service_endpoints_online 1") {
		t.Fatalf("metrics lack one online endpoint:\n%s", m)
	}

	b.clock.Add(30 * time.Second) // three periods: still online
	if st := status(); st.Status != "online" {
		t.Fatalf("after 3 periods: %s", st.Status)
	}
	b.clock.Add(time.Second)
	if st := status(); st.Status != "offline" {
		t.Fatalf("after 3 missed periods: %s", st.Status)
	}
	if m := b.metrics(t); !strings.Contains(m, "funcx_service_endpoints_online 0") {
		t.Fatalf("metrics lack zero online endpoints")
	}

	b.broker.deliver(t, ep, broker.Message{Heartbeat: &broker.Heartbeat{}})
	if st := status(); st.Status != "online" {
		t.Fatalf("after a new heartbeat: %s", st.Status)
	}
	b.broker.deliver(t, ep, broker.Message{Heartbeat: &broker.Heartbeat{Stopping: true}})
	if st := status(); st.Status != "offline" {
		t.Fatalf("after a stopping heartbeat: %s", st.Status)
	}

	// A heartbeat from an endpoint the service does not know is dropped
	// (acked), not redelivered forever.
	b.broker.deliver(t, uuid.NewString(), broker.Message{Heartbeat: &broker.Heartbeat{}})
}
