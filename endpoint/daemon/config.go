package daemon

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// Defaults of Config.
const (
	// DefaultStartTimeout is how long Serve waits for the endpoint to be
	// up.
	DefaultStartTimeout = 60 * time.Second
	// DefaultLogMaxMB is the size at which endpoint.log is rotated.
	DefaultLogMaxMB = 20
	// DefaultLogMaxBackups is how many rotated logs are kept.
	DefaultLogMaxBackups = 5
)

// StragglerTimeout bounds stopping the processes of a run that outlived
// its blocks after a stop.
const StragglerTimeout = 30 * time.Second

// Config is what Serve runs.
type Config struct {
	// Profile is the endpoint's profile: Serve holds its daemon lock
	// (daemon.pid) while it runs, logs to its endpoint.log, records the
	// run in its run.json and journals tasks in its journal.db. Required.
	Profile *profile.Profile
	// Handoff is the endpoint's registration with the service: its ID
	// and broker credentials, as Register returns them. Required; the
	// broker URL may be empty only when Dial is set.
	Handoff Handoff
	// Endpoint is the engine's configuration. Its empty DisplayName
	// defaults to the profile's name and its empty LogDir to the profile
	// directory (block scripts and their output go there). Defaults to
	// the configuration in the profile's config.toml, loaded by Serve.
	Endpoint *endpoint.Config
	// StopGrace is how long a stop lets tasks in flight finish
	// (endpoint.RunConfig.StopGrace). Defaults to the stop_grace of
	// config.toml when Endpoint is nil, else to endpoint.DefaultStopGrace.
	StopGrace time.Duration
	// Dial connects to the broker. Defaults to RabbitMQ with the
	// Handoff's credentials, over TLS trusting Handoff.BrokerCAFile for
	// an amqps:// URL.
	Dial endpoint.DialFunc
	// StartTimeout is how long the endpoint gets to be up (journal open,
	// first blocks submitted, broker connected); then Serve gives up with
	// the last dial error. Defaults to DefaultStartTimeout.
	StartTimeout time.Duration
	// LogLevel is the least level endpoint.log records. Defaults to
	// slog.LevelInfo (the zero value).
	LogLevel slog.Level
	// LogMaxMB is the size at which endpoint.log is rotated. Defaults to
	// DefaultLogMaxMB.
	LogMaxMB int
	// LogMaxBackups is how many rotated logs are kept. Defaults to
	// DefaultLogMaxBackups.
	LogMaxBackups int
	// Console, if set, gets the log too. Defaults to none: the log goes
	// to endpoint.log only.
	Console io.Writer
	// Ready, if set, is called exactly once: with nil once the endpoint is
	// up, or with the reason it could not start. Defaults to none.
	Ready func(error)
}

// WithDefaults returns a copy of c with zero fields defaulted; Endpoint
// and StopGrace are settled by Serve, which loads config.toml.
func (c Config) WithDefaults() Config {
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.LogMaxMB == 0 {
		c.LogMaxMB = DefaultLogMaxMB
	}
	if c.LogMaxBackups == 0 {
		c.LogMaxBackups = DefaultLogMaxBackups
	}
	return c
}

func (c *Config) validate() error {
	var errs []error
	if c.Profile == nil {
		errs = append(errs, errors.New("daemon: Config.Profile is nil"))
	}
	if c.Handoff.EndpointID == "" {
		errs = append(errs, errors.New("daemon: Config.Handoff.EndpointID is empty: register the endpoint first"))
	}
	if c.Dial == nil && c.Handoff.Broker.URL == "" {
		errs = append(errs, errors.New("the service gave no broker URL: it runs an in-process broker that endpoints cannot reach; run funcx-service with RabbitMQ"))
	}
	if c.StartTimeout < 0 || c.StopGrace < 0 {
		errs = append(errs, errors.New("daemon: Config.StartTimeout and Config.StopGrace must not be negative"))
	}
	if c.LogMaxMB < 0 || c.LogMaxBackups < 0 {
		errs = append(errs, errors.New("daemon: Config.LogMaxMB and Config.LogMaxBackups must not be negative"))
	}
	return errors.Join(errs...)
}
