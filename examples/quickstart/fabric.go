package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// fabric is the whole system in this process: the service's HTTP API on
// a loopback port with its SQLite store, the in-process broker, one
// endpoint (endpoint.Run, with its journal, interchange, manager and
// workers) and a client logged in over HTTP.
type fabric struct {
	url        string
	cl         *client.Client
	endpointID string
	stops      []func() error // in reverse order of start
}

// startFabric starts everything, keeping its files under dir. On error,
// what was started is stopped again.
func startFabric(ctx context.Context, dir string, log *slog.Logger) (f *fabric, err error) {
	f = &fabric{}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.stop())
		}
	}()

	// The service: SQLite store, in-process broker, HTTP on loopback.
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "service.db")})
	if err != nil {
		return f, err
	}
	f.stops = append(f.stops, st.Close)
	brk, err := membroker.New(membroker.Config{Logger: log})
	if err != nil {
		return f, err
	}
	f.stops = append(f.stops, brk.Close)
	svc, err := service.New(service.Config{Store: st, Broker: brk, Logger: log})
	if err != nil {
		return f, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return f, fmt.Errorf("listen on loopback: %w", err)
	}
	f.url = "http://" + ln.Addr().String()
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- svc.Serve(serveCtx, ln) }()
	f.stops = append(f.stops, func() error { stopServing(); return <-served })

	// An identity, and a client that logs in as it over HTTP.
	id, secret, err := svc.AddIdentity(ctx, "quickstart")
	if err != nil {
		return f, err
	}
	f.cl, err = client.New(client.Config{ServiceURL: f.url, ClientID: id, ClientSecret: secret})
	if err != nil {
		return f, err
	}
	f.stops = append(f.stops, f.cl.Close)

	// The endpoint, registered by its owner, linked to the broker with
	// the credentials the service gave it.
	reg, err := f.cl.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: "quickstart"})
	if err != nil {
		return f, err
	}
	f.endpointID = reg.EndpointID
	creds := broker.Credentials(reg.Broker)
	runCtx, stopEndpoint := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	ran := make(chan error, 1)
	go func() {
		ran <- endpoint.Run(runCtx, endpoint.RunConfig{
			Config:      endpoint.Config{PrefetchCapacity: 64, LogDir: filepath.Join(dir, "endpoint"), Logger: log},
			EndpointID:  reg.EndpointID,
			JournalPath: filepath.Join(dir, "journal.db"),
			StopGrace:   10 * time.Second,
			Dial:        func(ctx context.Context) (broker.EndpointConn, error) { return brk.DialEndpoint(ctx, creds) },
			Ready:       func() { close(ready) },
		})
	}()
	f.stops = append(f.stops, func() error { stopEndpoint(); return <-ran })
	select {
	case <-ready:
	case err := <-ran:
		ran <- err // for the stop
		return f, fmt.Errorf("endpoint: %w", err)
	case <-ctx.Done():
		return f, ctx.Err()
	}
	return f, nil
}

// stop stops everything in reverse order: the endpoint first (its last
// results reach the service), the service and store last.
func (f *fabric) stop() error {
	var errs []error
	for i := len(f.stops) - 1; i >= 0; i-- {
		errs = append(errs, f.stops[i]())
	}
	f.stops = nil
	return errors.Join(errs...)
}
