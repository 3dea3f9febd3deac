// Package endpointtest runs the whole of funcx-go in one process for
// tests: the service (HTTP on a loopback port, SQLite in a temporary
// directory), the in-process broker in place of RabbitMQ, and an endpoint
// running endpoint.Run with the configuration under test, its managers
// and workers real processes. Tests drive it through the SDK, as users
// do, and see every layer the SDK's calls cross.
//
// The test binary serves the manager and worker roles, so its TestMain
// must call endpoint.ServeChildRole first (or the configuration must name
// other commands).
package endpointtest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// Defaults Start applies to zero fields of the endpoint's Config: short
// heartbeats, so that status figures arrive quickly.
const (
	DefaultHeartbeatPeriod    = 200 * time.Millisecond
	DefaultHeartbeatThreshold = 10 * time.Second
	// ReadyTimeout bounds the wait for the endpoint to come up.
	ReadyTimeout = time.Minute
)

// Fabric is a running service with one registered endpoint served by
// endpoint.Run.
type Fabric struct {
	// URL is the service's base URL; ClientID and ClientSecret the
	// credentials of the identity that owns the endpoint.
	URL, ClientID, ClientSecret string
	// Client is an SDK client of that identity.
	Client *client.Client
	// EndpointID is the registered endpoint's ID.
	EndpointID string
	// Service is the service, for adding identities and the like.
	Service *service.Service
}

// Start starts a service, an identity "alice" with client credentials, an
// endpoint registered as name and endpoint.Run with cfg, and returns once
// the endpoint is ready. Zero heartbeat settings get this package's
// defaults; an empty LogDir a temporary directory. Everything is stopped
// in t.Cleanup, the endpoint first; an error from endpoint.Run fails the
// test.
func Start(t testing.TB, name string, cfg endpoint.Config) *Fabric {
	t.Helper()
	return StartWith(t, name, cfg, Options{})
}

// Options adjust StartWith.
type Options struct {
	// AMQPURL, when set, links the service and the endpoint through the
	// RabbitMQ at that URL (as guest: the service creates the endpoint's
	// broker user through the management API on the same host) instead
	// of the in-process broker. The test fails, saying what to do, when
	// RabbitMQ does not answer; it holds brokertest.ShareRabbitMQ, and
	// deleting the endpoint at cleanup removes its queues and user.
	AMQPURL string
}

// StartWith is Start with options.
func StartWith(t testing.TB, name string, cfg endpoint.Config, opts Options) *Fabric {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
	defer cancel()

	brk, dial, err := newBroker(ctx, t, opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(t.TempDir(), "service.db")})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Store: st, Broker: brk, Logger: testlog.New(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); _ = svc.Serve(serveCtx, ln) }()
	f := &Fabric{URL: "http://" + ln.Addr().String(), Service: svc}
	if f.ClientID, f.ClientSecret, err = svc.AddIdentity(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if f.Client, err = client.New(client.Config{ServiceURL: f.URL, ClientID: f.ClientID, ClientSecret: f.ClientSecret}); err != nil {
		t.Fatal(err)
	}
	reg, err := f.Client.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	f.EndpointID = reg.EndpointID
	t.Cleanup(func() {
		_ = f.Client.DeleteEndpoint(context.Background(), f.EndpointID)
		_ = f.Client.Close()
		stopServe()
		<-served
		_ = svc.Stop(context.Background())
		_ = brk.Close()
		_ = st.Close()
	})

	b := reg.Broker
	creds := broker.Credentials{URL: b.URL, Username: b.Username, Password: b.Password, TaskQueue: b.TaskQueue, ResultExchange: b.ResultExchange}
	cfg.HeartbeatPeriod = cmp.Or(cfg.HeartbeatPeriod, DefaultHeartbeatPeriod)
	cfg.HeartbeatThreshold = cmp.Or(cfg.HeartbeatThreshold, DefaultHeartbeatThreshold)
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- endpoint.Run(runCtx, endpoint.RunConfig{
			Config:     cfg,
			EndpointID: f.EndpointID, JournalPath: filepath.Join(t.TempDir(), "journal.db"), StopGrace: 5 * time.Second,
			Dial:  func(ctx context.Context) (broker.EndpointConn, error) { return dial(ctx, creds) },
			Ready: func() { close(ready) },
		})
	}()
	t.Cleanup(func() {
		stopRun()
		if err := <-done; err != nil {
			t.Errorf("endpoint.Run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("endpoint did not come up: %v", err)
	case <-ctx.Done():
		t.Fatalf("endpoint not ready within %s", ReadyTimeout)
	}
	return f
}

// brokerService is a broker the fabric's service can use and close.
type brokerService interface {
	broker.Service
	Close() error
}

// newBroker returns the fabric's broker and how its endpoint dials it.
func newBroker(ctx context.Context, t testing.TB, opts Options) (brokerService, func(context.Context, broker.Credentials) (broker.EndpointConn, error), error) {
	if opts.AMQPURL == "" {
		brk, err := membroker.New(membroker.Config{})
		if err != nil {
			return nil, nil, err
		}
		return brk, func(ctx context.Context, c broker.Credentials) (broker.EndpointConn, error) {
			return brk.DialEndpoint(ctx, c)
		}, nil
	}
	brokertest.ShareRabbitMQ(t)
	brk, err := rabbitmq.New(rabbitmq.Config{URL: opts.AMQPURL})
	if err != nil {
		return nil, nil, err
	}
	if err := brk.Ping(ctx); err != nil {
		brk.Close()
		return nil, nil, fmt.Errorf("RabbitMQ does not answer: %w (run scripts/start-services.sh as root to install and start it)", err)
	}
	return brk, func(ctx context.Context, c broker.Credentials) (broker.EndpointConn, error) {
		return rabbitmq.DialEndpoint(ctx, c, rabbitmq.EndpointConfig{})
	}, nil
}
