package service

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

	DefaultBodyTimeout                 = 30 * time.Second
	DefaultMaxUnauthenticatedPerClient = 16
	DefaultMaxBodyBytesInFlight        = 64 << 20
	DefaultBodyQueueWait               = 2 * time.Second
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

	// Guards against hostile or broken clients (docs/service.md).

	// BodyTimeout is how long a request's whole body may take to arrive,
	// from the start of its handling; a slower one is answered 408 and
	// its connection closed. Requests without a body (GET /v1/results
	// long polls) have no such deadline. It needs a net/http server (or
	// any ResponseWriter that supports http.ResponseController's
	// SetReadDeadline). Defaults to DefaultBodyTimeout (30s).
	BodyTimeout time.Duration
	// MaxUnauthenticatedPerClient caps the requests of one client (IPv4
	// address, or IPv6 /64) in flight before their bearer token checked
	// out: POST /v1/token for its whole length, other routes until the
	// token is looked up. One more is answered 429 with Retry-After.
	// Clients behind one proxy or NAT share it. Defaults to
	// DefaultMaxUnauthenticatedPerClient (16).
	MaxUnauthenticatedPerClient int
	// MaxBodyBytesInFlight bounds the request body bytes all requests
	// together hold, taken by Content-Length (or as an undeclared length
	// is read) and held until each request is answered. A request that
	// finds no room within BodyQueueWait is answered 503 with
	// Retry-After. With the garbage collector's headroom, the service's
	// memory grows by about three times this bound at most under any
	// load of large requests: 20 concurrent 31 MiB submissions peaked at
	// 189-222 MB RSS (49 MB idle) with the default, and at 785 MB with
	// the bound raised out of the way (go run ./bench -only hostile). At
	// least MaxRequestBytes. Defaults to DefaultMaxBodyBytesInFlight
	// (64 MiB).
	MaxBodyBytesInFlight int64
	// BodyQueueWait is how long a request waits for room under
	// MaxBodyBytesInFlight. Defaults to DefaultBodyQueueWait (2s).
	BodyQueueWait time.Duration

	// TLSCertFile and TLSKeyFile are the PEM files of the certificate
	// (followed by its intermediates) and private key that
	// ListenAndServe and Serve serve HTTPS with; Service.ReloadTLS reads
	// them again. Set both or neither. Default to empty: plain HTTP,
	// which Serve warns about on an address other than loopback.
	TLSCertFile string
	TLSKeyFile  string
	// MetricsToken, if set, is the bearer token GET /metrics requires
	// ("Authorization: Bearer TOKEN"), compared in constant time.
	// Defaults to empty: /metrics is open to whoever reaches the service.
	MetricsToken string

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
	c.BodyTimeout = cmp.Or(c.BodyTimeout, DefaultBodyTimeout)
	c.MaxUnauthenticatedPerClient = cmp.Or(c.MaxUnauthenticatedPerClient, DefaultMaxUnauthenticatedPerClient)
	c.MaxBodyBytesInFlight = cmp.Or(c.MaxBodyBytesInFlight, DefaultMaxBodyBytesInFlight)
	c.BodyQueueWait = cmp.Or(c.BodyQueueWait, DefaultBodyQueueWait)
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
		{"BodyTimeout", c.BodyTimeout}, {"BodyQueueWait", c.BodyQueueWait},
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
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("service: Config.TLSCertFile %q and TLSKeyFile %q: set both (HTTPS) or neither (plain HTTP)", c.TLSCertFile, c.TLSKeyFile)
	}
	if strings.IndexFunc(c.MetricsToken, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return errors.New("service: Config.MetricsToken holds spaces or control or non-ASCII characters, which an Authorization header cannot carry")
	}
	if c.MaxUnauthenticatedPerClient < 0 {
		return fmt.Errorf("service: Config.MaxUnauthenticatedPerClient %d is negative", c.MaxUnauthenticatedPerClient)
	}
	if c.MaxBodyBytesInFlight < c.MaxRequestBytes {
		// Else a request of the largest allowed size could never be read.
		return fmt.Errorf("service: Config.MaxBodyBytesInFlight %d is less than MaxRequestBytes %d", c.MaxBodyBytesInFlight, c.MaxRequestBytes)
	}
	return nil
}
