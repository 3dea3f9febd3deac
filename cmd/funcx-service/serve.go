package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	// TLS and the metrics token: see service.Config and docs/service.md.
	TLSCert          string `name:"tls-cert" env:"FUNCX_TLS_CERT" placeholder:"FILE" type:"path" help:"PEM certificate (followed by its intermediates) to serve HTTPS with; with --tls-key. Reloaded with the key on SIGHUP."`
	TLSKey           string `name:"tls-key" env:"FUNCX_TLS_KEY" placeholder:"FILE" type:"path" help:"PEM private key of --tls-cert."`
	MetricsToken     string `name:"metrics-token" env:"FUNCX_METRICS_TOKEN" placeholder:"TOKEN" help:"Bearer token GET /metrics requires (shown in ps: prefer --metrics-token-file or the environment). Default: /metrics is open."`
	MetricsTokenFile string `name:"metrics-token-file" env:"FUNCX_METRICS_TOKEN_FILE" placeholder:"FILE" type:"path" help:"File holding the bearer token GET /metrics requires."`
	brokerFlags      `embed:""`
	Limits           endpointLimits `embed:""`
}

func (c *serveCmd) Run(e *env) error {
	metricsToken, err := c.metricsToken()
	if err != nil {
		return err
	}
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
		TLSCertFile:                 c.TLSCert,
		TLSKeyFile:                  c.TLSKey,
		MetricsToken:                metricsToken,
	})
	if err != nil {
		return err
	}
	return c.serve(e, svc)
}

// serve listens and serves until the command's context ends, reloading
// the TLS certificate on SIGHUP.
func (c *serveCmd) serve(e *env, svc *service.Service) error {
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	stopReload := reloadOnHangup(svc, e.log)
	defer stopReload()
	scheme := "http"
	if svc.TLSConfig() != nil {
		scheme = "https"
	}
	fmt.Fprintf(e.stdout, "funcx-service listening on %s://%s\n", scheme, ln.Addr())
	if err := svc.Serve(e.ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// metricsToken is the token of --metrics-token or --metrics-token-file.
func (c *serveCmd) metricsToken() (string, error) {
	if c.MetricsTokenFile == "" {
		return c.MetricsToken, nil
	}
	if c.MetricsToken != "" {
		return "", errors.New("--metrics-token and --metrics-token-file are both set: give one")
	}
	b, err := os.ReadFile(c.MetricsTokenFile)
	if err != nil {
		return "", fmt.Errorf("read the metrics token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("metrics token file %s is empty", c.MetricsTokenFile)
	}
	return tok, nil
}

// reloadOnHangup reloads the service's TLS certificate on each SIGHUP
// (the service logs the outcome) until the returned func is called.
// SIGHUP never ends the service, with or without TLS.
func reloadOnHangup(svc *service.Service, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case <-done:
				return
			case <-hup:
				if svc.TLSConfig() == nil {
					log.Info("SIGHUP: no TLS certificate to reload (serving plain HTTP)")
					continue
				}
				_ = svc.ReloadTLS() // logged by the service
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-ended
	}
}
