package daemon

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
)

// register registers p with the fake service srv.
func register(t *testing.T, p *profile.Profile, srv *clienttest.Server) (Handoff, error) {
	t.Helper()
	c, err := client.New(client.Config{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return Register(context.Background(), c, p, RegisterConfig{ServiceURL: srv.URL, Version: "test"})
}

func unregistered(t *testing.T) *profile.Profile {
	t.Helper()
	p, err := profile.New(t.TempDir(), "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Create(); err != nil {
		t.Fatal(err)
	}
	return p
}

// The first registration is recorded with its owner; the next reuses
// the endpoint ID.
func TestRegisterRecordsAndReuses(t *testing.T) {
	t.Parallel()
	srv := clienttest.NewServer(t, clienttest.Config{})
	p := unregistered(t)
	h, err := register(t, p, srv)
	if err != nil || h.EndpointID == "" {
		t.Fatalf("register: %+v, %v", h, err)
	}
	reg, ok, err := p.Registration()
	if err != nil || !ok || reg.EndpointID != h.EndpointID || reg.OwnerID != srv.Identity().ID || reg.ServiceURL != srv.URL || reg.RegisteredAt.IsZero() {
		t.Fatalf("endpoint.json: %+v, %v, %v", reg, ok, err)
	}
	again, err := register(t, p, srv)
	if err != nil || again.EndpointID != h.EndpointID {
		t.Fatalf("second register: %+v, %v; want endpoint %s", again, err, h.EndpointID)
	}
}

// Only the owner registers an endpoint; a deleted one is never
// registered again.
func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	t.Run("endpoint.json names another owner", func(t *testing.T) {
		t.Parallel()
		p := unregistered(t)
		if err := p.SaveRegistration(profile.Registration{EndpointID: "ep-1", OwnerID: "user-2", OwnerName: "Bob"}); err != nil {
			t.Fatal(err)
		}
		_, err := register(t, p, clienttest.NewServer(t, clienttest.Config{}))
		var no *NotOwnerError
		if !errors.As(err, &no) || err.Error() != "endpoint laptop (ep-1) belongs to Bob (user-2), and you are Test User (user-1): only its owner may start it" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("the service refuses", func(t *testing.T) {
		t.Parallel()
		srv := clienttest.NewServer(t, clienttest.Config{})
		p := unregistered(t)
		if err := p.SaveRegistration(profile.Registration{EndpointID: srv.AddEndpoint(api.EndpointStatus{Name: "laptop", Owner: "someone-else"})}); err != nil {
			t.Fatal(err)
		}
		if _, err := register(t, p, srv); !errors.As(err, new(*NotOwnerError)) {
			t.Fatalf("got %v, want a NotOwnerError", err)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		t.Parallel()
		srv := clienttest.NewServer(t, clienttest.Config{})
		p := unregistered(t)
		if err := p.SaveRegistration(profile.Registration{EndpointID: "ep-1"}); err != nil {
			t.Fatal(err)
		}
		srv.FailNext("POST /v1/endpoints", 1, http.StatusGone, "endpoint_deleted")
		_, err := register(t, p, srv)
		var del *DeletedError
		if !errors.As(err, &del) || !errors.Is(err, client.ErrGone) || del.EndpointID != "ep-1" {
			t.Fatalf("got %v, want a DeletedError of ep-1", err)
		}
	})
}
