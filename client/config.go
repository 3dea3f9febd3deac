package client

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// Defaults of Config.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRetries     = 4
	DefaultMaxBatch       = 1000
	// DefaultBatchDelay sends at once: submissions made while a request
	// is in flight are grouped all the same, so a burst still travels in
	// few requests, and a lone task does not wait.
	DefaultBatchDelay       time.Duration = -1
	DefaultPollWait                       = 20 * time.Second
	DefaultMaxResponseBytes               = 256 << 20
	DefaultMaxIdleConns                   = 16
	// DefaultMaxSubmitsInFlight lets a burst's requests overlap: while
	// the service stores one batch and waits for the broker to confirm
	// it, the next is on its way.
	DefaultMaxSubmitsInFlight = 4
	// DefaultRetryFor rides out a restart of the service (seconds) or a
	// short network outage.
	DefaultRetryFor = time.Minute
)

// Config configures a Client. The zero value is not usable: ServiceURL and
// a credential (ClientID with ClientSecret, or Token) are required.
type Config struct {
	// ServiceURL is the base URL of the funcX service, such as
	// "https://funcx.example.org". Required.
	ServiceURL string

	// ClientID and ClientSecret are a client identity's credentials. The
	// client exchanges them for a bearer token (POST /v1/token), renews
	// the token before it expires and once more when the service answers
	// 401. Set both, or set Token instead.
	ClientID     string
	ClientSecret string
	// Token is a bearer token used as is; it is never renewed, so a 401
	// is returned to the caller as ErrUnauthorized.
	Token string

	// HTTPClient sends every request. Its Timeout should be zero or above
	// PollWait, since results are long-polled. Defaults to a client with
	// dial and TLS handshake timeouts, no overall timeout (each request
	// carries RequestTimeout instead) and DefaultMaxIdleConns idle
	// connections per host; Close closes its idle connections.
	HTTPClient *http.Client
	// CAFile is a PEM file of CA certificates trusted besides the
	// system's roots: for an https:// ServiceURL whose certificate a
	// private CA signed. It is read by New. Not with HTTPClient (give
	// that client's transport the roots instead). Defaults to empty: the
	// system's roots only.
	CAFile string
	// RequestTimeout bounds one HTTP request; a results long poll gets
	// PollWait on top. Defaults to DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxRetries is how often an idempotent request (reads, task
	// submissions with client-made task IDs, long polls) is retried after
	// a network error or a 429/502/503/504, with exponential backoff, at
	// least; RetryFor may add more. Negative disables retries. Defaults
	// to DefaultMaxRetries.
	MaxRetries int
	// RetryFor is how long, from its first attempt, an idempotent request
	// keeps being retried after temporary failures once its MaxRetries
	// retries are spent, so that submissions and reads ride out a restart
	// of the service instead of failing after a second. Negative: only
	// MaxRetries counts. Defaults to DefaultRetryFor.
	RetryFor time.Duration
	// MaxResponseBytes caps the body of one response. Defaults to
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64

	// MaxBatch caps the tasks an Executor sends in one POST /v1/tasks, at
	// most api.MaxTasksPerSubmit. Defaults to DefaultMaxBatch.
	MaxBatch int
	// BatchDelay is how long an Executor holds the first of a group of
	// submissions so that others submitted meanwhile share its request.
	// Negative sends at once (submissions arriving while a request is in
	// flight are still grouped). Defaults to DefaultBatchDelay: at once.
	BatchDelay time.Duration
	// MaxSubmitsInFlight caps the POST /v1/tasks requests an Executor
	// has in flight at once. Submissions made while every one is busy
	// wait and are grouped into the next batch. Defaults to
	// DefaultMaxSubmitsInFlight.
	MaxSubmitsInFlight int
	// PollWait is how long one results long poll waits on the service,
	// or one results stream lasts, at most api.MaxWait. Defaults to
	// DefaultPollWait.
	PollWait time.Duration
	// PollLimit caps the results in one page of the long poll, at most
	// api.MaxResultsPage. Defaults to 0: the service's own page size
	// (services may be configured below api.MaxResultsPage). A page too
	// large for MaxResponseBytes makes the client ask for fewer.
	PollLimit int
	// DisableResultsStream makes the results poll ask for one page per
	// request instead of a stream of pages (api.ContentTypeResultsStream)
	// that lasts PollWait. Streams save a request per page; turn them
	// off only behind a proxy that buffers responses, which would hold
	// each stream's results until the stream ends. Defaults to false:
	// streams.
	DisableResultsStream bool

	// Logger receives the client's log; nil means quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	c.MaxRetries = cmp.Or(c.MaxRetries, DefaultMaxRetries)
	c.RetryFor = cmp.Or(c.RetryFor, DefaultRetryFor)
	c.MaxResponseBytes = cmp.Or(c.MaxResponseBytes, DefaultMaxResponseBytes)
	c.MaxBatch = cmp.Or(c.MaxBatch, DefaultMaxBatch)
	c.BatchDelay = cmp.Or(c.BatchDelay, DefaultBatchDelay)
	c.MaxSubmitsInFlight = cmp.Or(c.MaxSubmitsInFlight, DefaultMaxSubmitsInFlight)
	c.PollWait = cmp.Or(c.PollWait, DefaultPollWait)
	if c.HTTPClient == nil {
		c.HTTPClient = newHTTPClient()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// newHTTPClient builds the default HTTP client. It has no overall timeout
// because long polls outlast any fixed one; every request carries its own
// deadline instead.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The default of two idle connections per host makes concurrent
	// submissions and the long poll open and close connections in turn.
	t.MaxIdleConnsPerHost = DefaultMaxIdleConns
	return &http.Client{Transport: t}
}

func (c *Config) validate() error {
	var errs []error
	if c.ServiceURL == "" {
		errs = append(errs, errors.New("ServiceURL is empty: set it to the service's base URL"))
	} else if u, err := url.Parse(c.ServiceURL); err != nil {
		errs = append(errs, fmt.Errorf("ServiceURL %q: %w", c.ServiceURL, err))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("ServiceURL %q is not an http(s) URL with a host", c.ServiceURL))
	}
	switch {
	case c.Token != "" && (c.ClientID != "" || c.ClientSecret != ""):
		errs = append(errs, errors.New("Token and ClientID/ClientSecret are both set: use one"))
	case c.Token == "" && c.ClientID == "" && c.ClientSecret == "":
		errs = append(errs, errors.New("no credentials: set ClientID and ClientSecret, or Token"))
	case c.Token == "" && c.ClientID == "":
		errs = append(errs, errors.New("ClientID is empty but ClientSecret is set"))
	case c.Token == "" && c.ClientSecret == "":
		errs = append(errs, errors.New("ClientSecret is empty but ClientID is set"))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("RequestTimeout %s is negative", c.RequestTimeout))
	}
	if c.MaxResponseBytes < 1024 {
		errs = append(errs, fmt.Errorf("MaxResponseBytes %d is below 1024", c.MaxResponseBytes))
	}
	if c.MaxBatch < 1 || c.MaxBatch > api.MaxTasksPerSubmit {
		errs = append(errs, fmt.Errorf("MaxBatch %d is outside 1..%d", c.MaxBatch, api.MaxTasksPerSubmit))
	}
	if c.MaxSubmitsInFlight < 1 {
		errs = append(errs, fmt.Errorf("MaxSubmitsInFlight %d is below 1", c.MaxSubmitsInFlight))
	}
	if c.PollWait < 0 || c.PollWait > api.MaxWait {
		errs = append(errs, fmt.Errorf("PollWait %s is outside 0..%s", c.PollWait, api.MaxWait))
	}
	if c.PollLimit < 0 || c.PollLimit > api.MaxResultsPage {
		errs = append(errs, fmt.Errorf("PollLimit %d is outside 0..%d", c.PollLimit, api.MaxResultsPage))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("client config: %w", err)
	}
	return nil
}
