package service

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// Defaults of Config.
const (
	DefaultListen             = "127.0.0.1:8080"
	DefaultTokenTTL           = time.Hour
	DefaultHeartbeatPeriod    = 30 * time.Second
	DefaultPublishTimeout     = 30 * time.Second
	DefaultPublishRetryWindow = 5 * time.Minute
	DefaultShutdownTimeout    = 10 * time.Second
)

// MissedHeartbeats is how many heartbeat periods may pass without one
// before an endpoint counts as offline.
const MissedHeartbeats = 3

// Config configures a Service.
type Config struct {
	// Listen is the address ListenAndServe listens on; port 0 picks a
	// free one (see Service.Addr). Defaults to DefaultListen.
	Listen string
	// Store keeps everything the service knows. Required. The service
	// does not close it.
	Store Store
	// Broker carries tasks to endpoints and their results back. Required
	// by Start and Handler; a Service without one can only administer
	// identities (the CLI's user commands). The service does not close
	// it.
	Broker broker.Service
	// TokenTTL is the lifetime of a bearer token from POST /v1/token.
	// Defaults to DefaultTokenTTL (1h).
	TokenTTL time.Duration
	// HeartbeatPeriod is how often endpoints are assumed to heartbeat; an
	// endpoint is offline after MissedHeartbeats periods without one.
	// Defaults to DefaultHeartbeatPeriod (30s).
	HeartbeatPeriod time.Duration
	// PublishTimeout bounds one PublishTasks call of a submission.
	// Defaults to DefaultPublishTimeout.
	PublishTimeout time.Duration
	// PublishRetryWindow is how long a task the broker did not take (a
	// publish failed, or the service died before it) waits for a retried
	// submission with the same task ID before it fails with
	// InternalError. Defaults to DefaultPublishRetryWindow (5m).
	PublishRetryWindow time.Duration
	// ShutdownTimeout bounds ListenAndServe's graceful shutdown. Defaults
	// to DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Limits; each defaults to (and may not exceed) the api constant of
	// the same name, which the SDK relies on.
	MaxRequestBytes   int64         // Defaults to api.MaxRequestBytes.
	MaxTasksPerSubmit int           // Defaults to api.MaxTasksPerSubmit.
	MaxStatusIDs      int           // Defaults to api.MaxStatusIDs.
	MaxResultsPage    int           // Defaults to api.MaxResultsPage.
	MaxWait           time.Duration // Defaults to api.MaxWait.

	// Logger receives the service's logs. Defaults to nil: quiet.
	Logger *slog.Logger
	// Clock tells the time for token expiry, heartbeats and task times
	// (not for the timers of long polls). Defaults to time.Now.
	Clock func() time.Time
	// Registry receives the service's metrics, served on /metrics.
	// Defaults to a new registry of its own (never the global one).
	Registry *prometheus.Registry
}

// WithDefaults returns a copy of c with defaults filled in.
func (c Config) WithDefaults() Config {
	c.Listen = cmp.Or(c.Listen, DefaultListen)
	c.TokenTTL = cmp.Or(c.TokenTTL, DefaultTokenTTL)
	c.HeartbeatPeriod = cmp.Or(c.HeartbeatPeriod, DefaultHeartbeatPeriod)
	c.PublishTimeout = cmp.Or(c.PublishTimeout, DefaultPublishTimeout)
	c.PublishRetryWindow = cmp.Or(c.PublishRetryWindow, DefaultPublishRetryWindow)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.MaxRequestBytes = cmp.Or(c.MaxRequestBytes, api.MaxRequestBytes)
	c.MaxTasksPerSubmit = cmp.Or(c.MaxTasksPerSubmit, api.MaxTasksPerSubmit)
	c.MaxStatusIDs = cmp.Or(c.MaxStatusIDs, api.MaxStatusIDs)
	c.MaxResultsPage = cmp.Or(c.MaxResultsPage, api.MaxResultsPage)
	c.MaxWait = cmp.Or(c.MaxWait, api.MaxWait)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

func (c *Config) validate() error {
	if c.Store == nil {
		return errors.New("service: Config.Store is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"TokenTTL", c.TokenTTL}, {"HeartbeatPeriod", c.HeartbeatPeriod}, {"PublishTimeout", c.PublishTimeout},
		{"PublishRetryWindow", c.PublishRetryWindow}, {"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("service: Config.%s %s is negative", d.name, d.v)
		}
	}
	if c.PublishRetryWindow <= c.PublishTimeout {
		// Else the sweeper could fail tasks whose publish is still running.
		return fmt.Errorf("service: Config.PublishRetryWindow %s must exceed PublishTimeout %s", c.PublishRetryWindow, c.PublishTimeout)
	}
	for _, l := range []struct {
		name   string
		v, max int64
	}{
		{"MaxRequestBytes", c.MaxRequestBytes, api.MaxRequestBytes},
		{"MaxTasksPerSubmit", int64(c.MaxTasksPerSubmit), api.MaxTasksPerSubmit},
		{"MaxStatusIDs", int64(c.MaxStatusIDs), api.MaxStatusIDs},
		{"MaxResultsPage", int64(c.MaxResultsPage), api.MaxResultsPage},
		{"MaxWait", int64(c.MaxWait), int64(api.MaxWait)},
	} {
		if l.v < 0 || l.v > l.max {
			return fmt.Errorf("service: Config.%s %d is outside 1..%d", l.name, l.v, l.max)
		}
	}
	return nil
}
