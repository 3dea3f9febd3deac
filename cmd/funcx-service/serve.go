package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/funcx-go/funcx/service"
)

type serveCmd struct {
	Listen          string        `name:"listen" env:"FUNCX_SERVICE_LISTEN" default:"127.0.0.1:8080" placeholder:"ADDR" help:"Address to serve the API on (default: ${default}; port 0 picks a free one)."`
	TokenTTL        time.Duration `name:"token-ttl" env:"FUNCX_TOKEN_TTL" default:"1h" help:"Lifetime of bearer tokens (default: ${default})."`
	HeartbeatPeriod time.Duration `name:"heartbeat-period" env:"FUNCX_HEARTBEAT_PERIOD" default:"30s" help:"Endpoints' heartbeat period: one is offline after 3 without a heartbeat (default: ${default})."`
	// Guards against hostile clients: see service.Config and docs/service.md.
	BodyTimeout                 time.Duration `name:"body-timeout" env:"FUNCX_BODY_TIMEOUT" default:"30s" help:"Time a request's whole body may take to arrive; slower ones get 408 (default: ${default})."`
	MaxUnauthenticatedPerClient int           `name:"max-unauthenticated-per-client" env:"FUNCX_MAX_UNAUTHENTICATED_PER_CLIENT" default:"16" placeholder:"N" help:"Requests of one client address (IPv6: /64) in flight before their token is checked; more get 429 (default: ${default})."`
	MaxBodyBytesInFlight        int64         `name:"max-body-bytes-in-flight" env:"FUNCX_MAX_BODY_BYTES_IN_FLIGHT" default:"67108864" placeholder:"BYTES" help:"Request body bytes all requests together may hold; a request that finds no room within 2s gets 503. At least 33554432, the largest request (default: ${default}, 64 MiB)."`
	brokerFlags                 `embed:""`
	Limits                      endpointLimits `embed:""`
}

func (c *serveCmd) Run(e *env) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := newBroker(&c.brokerFlags, c.Limits, e.log)
	if err != nil {
		return err
	}
	defer b.Close()
	svc, err := service.New(service.Config{
		Listen:          c.Listen,
		Store:           st,
		Broker:          b,
		TokenTTL:        c.TokenTTL,
		HeartbeatPeriod: c.HeartbeatPeriod,
		Logger:          e.log,

		BodyTimeout:                 c.BodyTimeout,
		MaxUnauthenticatedPerClient: c.MaxUnauthenticatedPerClient,
		MaxBodyBytesInFlight:        c.MaxBodyBytesInFlight,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	fmt.Fprintf(e.stdout, "funcx-service listening on http://%s\n", ln.Addr())
	if err := svc.Serve(e.ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
