package faults

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Fault is what one run does to the fabric mid-way.
type Fault string

// The faults of the matrix, in the order it runs them.
const (
	None            Fault = "none"
	WorkerKill      Fault = "worker-kill"
	ManagerKill     Fault = "manager-kill"
	EndpointKill    Fault = "endpoint-kill"
	ServiceKill     Fault = "service-kill"
	ServiceTerm     Fault = "service-term"
	RabbitMQRestart Fault = "rabbitmq-restart"
)

// All is every fault, in the matrix's order.
var All = []Fault{None, WorkerKill, ManagerKill, EndpointKill, ServiceKill, ServiceTerm, RabbitMQRestart}

// Describe says what the fault does, for the table.
func (f Fault) Describe() string {
	switch f {
	case None:
		return "no fault (baseline)"
	case WorkerKill:
		return "kill -9 a worker"
	case ManagerKill:
		return "kill -9 a manager"
	case EndpointKill:
		return "kill -9 an endpoint daemon, start it"
	case ServiceKill:
		return "kill -9 funcx-service, start it after 5 s"
	case ServiceTerm:
		return "SIGTERM funcx-service, start it after 5 s"
	case RabbitMQRestart:
		return "RabbitMQ stop_app, start_app"
	}
	return string(f)
}

// ParseFaults reads a comma-separated list of faults; "all" or "" is
// every fault.
func ParseFaults(s string) ([]Fault, error) {
	if s == "" || s == "all" {
		return slices.Clone(All), nil
	}
	var out []Fault
	for _, name := range strings.Split(s, ",") {
		f := Fault(strings.TrimSpace(name))
		if !slices.Contains(All, f) {
			names := make([]string, len(All))
			for i, a := range All {
				names[i] = string(a)
			}
			return nil, fmt.Errorf("unknown fault %q (want all or some of %s)", f, strings.Join(names, ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

// Defaults of Config.
const (
	DefaultTasks              = 10_000
	DefaultWorkersPerEndpoint = 2
	DefaultPrefetch           = 8
	DefaultMaxRetries         = 2
	DefaultStrikeAt           = 0.3
	DefaultServiceDowntime    = 5 * time.Second
	DefaultRabbitMQDowntime   = 2 * time.Second
	DefaultWindow             = 1000
	DefaultStallTimeout       = time.Minute
	DefaultAMQPURL            = "amqp://guest:guest@127.0.0.1:5672/"
)

// Config configures a run. Binaries is required; everything else has a
// default.
type Config struct {
	// Binaries are the built funcx-service and funcx-endpoint (see
	// Build). Required.
	Binaries Binaries
	// Tasks is the number of shell tasks of a run, split evenly over the
	// two endpoints. Defaults to DefaultTasks.
	Tasks int
	// WorkersPerEndpoint is max_workers_per_node of each endpoint.
	// Defaults to DefaultWorkersPerEndpoint.
	WorkersPerEndpoint int
	// Prefetch is each endpoint's prefetch_capacity. Defaults to
	// DefaultPrefetch.
	Prefetch int
	// MaxRetries is each endpoint's max_retries_on_system_failure, so
	// that the tasks of a killed worker or manager run again instead of
	// failing with WorkerLost or ManagerLost. Negative: 0, no retries
	// (they then show as failed). Defaults to DefaultMaxRetries.
	MaxRetries int
	// StrikeAt is the fraction of results in when the fault strikes, in
	// (0, 1). Defaults to DefaultStrikeAt.
	StrikeAt float64
	// ServiceDowntime is how long after its kill funcx-service starts
	// again. Defaults to DefaultServiceDowntime.
	ServiceDowntime time.Duration
	// RabbitMQDowntime is the pause between stop_app and start_app.
	// Defaults to DefaultRabbitMQDowntime.
	RabbitMQDowntime time.Duration
	// Window is how many tasks per endpoint are submitted and not yet
	// answered at most: submissions go on throughout the run, so that
	// faults meet them too. Defaults to DefaultWindow.
	Window int
	// StallTimeout is how long a run waits without a new result (after
	// the fault is over) before it counts the tasks still unanswered as
	// lost. Defaults to DefaultStallTimeout.
	StallTimeout time.Duration
	// AMQPURL is the RabbitMQ (guest or an administrator: the service
	// creates the endpoints' users). Defaults to $FUNCX_TEST_AMQP_URL,
	// else DefaultAMQPURL.
	AMQPURL string
	// ManagementURL is RabbitMQ's management API, for the orphan check
	// (with its user and password). Defaults to port 15672 of AMQPURL's
	// host, with AMQPURL's user and password.
	ManagementURL string
	// KeepDir, if set, keeps each run's files (service and endpoint logs,
	// databases, the record of executions) in a directory under it.
	// Defaults to "": a temporary directory, removed after the run.
	KeepDir string
	// Logger receives progress; nil means quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with zero fields set to their
// defaults.
func (c Config) WithDefaults() Config {
	c.Tasks = cmp.Or(c.Tasks, DefaultTasks)
	c.WorkersPerEndpoint = cmp.Or(c.WorkersPerEndpoint, DefaultWorkersPerEndpoint)
	c.Prefetch = cmp.Or(c.Prefetch, DefaultPrefetch)
	c.MaxRetries = cmp.Or(c.MaxRetries, DefaultMaxRetries)
	c.MaxRetries = max(c.MaxRetries, 0)
	c.StrikeAt = cmp.Or(c.StrikeAt, DefaultStrikeAt)
	c.ServiceDowntime = cmp.Or(c.ServiceDowntime, DefaultServiceDowntime)
	c.RabbitMQDowntime = cmp.Or(c.RabbitMQDowntime, DefaultRabbitMQDowntime)
	c.Window = cmp.Or(c.Window, DefaultWindow)
	c.StallTimeout = cmp.Or(c.StallTimeout, DefaultStallTimeout)
	c.AMQPURL = cmp.Or(c.AMQPURL, os.Getenv("FUNCX_TEST_AMQP_URL"), DefaultAMQPURL)
	if c.ManagementURL == "" {
		if u, err := url.Parse(c.AMQPURL); err == nil {
			m := url.URL{Scheme: "http", User: u.User, Host: u.Hostname() + ":15672"}
			c.ManagementURL = m.String()
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c *Config) validate() error {
	var errs []error
	if c.Binaries.Service == "" || c.Binaries.Endpoint == "" {
		errs = append(errs, errors.New("Binaries: build funcx-service and funcx-endpoint first (faults.Build)"))
	}
	if c.Tasks < 2 {
		errs = append(errs, fmt.Errorf("Tasks %d: at least 2, one per endpoint", c.Tasks))
	}
	if c.WorkersPerEndpoint < 1 {
		errs = append(errs, fmt.Errorf("WorkersPerEndpoint %d: at least 1", c.WorkersPerEndpoint))
	}
	if c.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("Prefetch %d is negative", c.Prefetch))
	}
	if !(c.StrikeAt > 0 && c.StrikeAt < 1) {
		errs = append(errs, fmt.Errorf("StrikeAt %v: must be in (0, 1)", c.StrikeAt))
	}
	if c.Window < 1 {
		errs = append(errs, fmt.Errorf("Window %d: at least 1", c.Window))
	}
	for name, d := range map[string]time.Duration{"ServiceDowntime": c.ServiceDowntime, "RabbitMQDowntime": c.RabbitMQDowntime, "StallTimeout": c.StallTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative", name, d))
		}
	}
	if u, err := url.Parse(c.ManagementURL); err != nil || u.Host == "" {
		errs = append(errs, fmt.Errorf("ManagementURL %q: not a URL with a host", c.ManagementURL))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("faults config: %w", err)
	}
	return nil
}
