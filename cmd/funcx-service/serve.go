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
	brokerFlags     `embed:""`
	Limits          endpointLimits `embed:""`
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
