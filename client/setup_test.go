package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// testTimeout bounds every wait of a test, so a bug fails instead of
// hanging.
const testTimeout = 30 * time.Second

// bundle is what setup returns: the client under test and its world.
type bundle struct {
	c          *client.Client
	srv        *clienttest.Server
	endpointID string
	goFunc     string // a registered Go function
	shellFunc  string // a registered shell function
	ctx        context.Context
}

// setup starts a fake service with one endpoint and two functions, and a
// client of it; mod adjusts the client's config.
func setup(t *testing.T, scfg clienttest.Config, mod func(*client.Config)) *bundle {
	t.Helper()
	srv := clienttest.NewServer(t, scfg)
	b := &bundle{srv: srv, endpointID: srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})}
	b.c = newClient(t, srv, mod)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	b.ctx = ctx
	var err error
	if b.goFunc, err = b.c.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "double", Kind: "go", GoName: "double"}); err != nil {
		t.Fatal(err)
	}
	if b.shellFunc, err = b.c.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "shell", Script: "echo {x}"}); err != nil {
		t.Fatal(err)
	}
	return b
}

// newClient returns a client of srv with its client credentials, closed
// when the test ends.
func newClient(t *testing.T, srv *clienttest.Server, mod func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
