package rabbitmq

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/funcx-go/funcx/broker"
)

// Defaults of Config and EndpointConfig.
const (
	// DefaultURL reaches a local RabbitMQ as guest, which RabbitMQ admits
	// on loopback only.
	DefaultURL               = "amqp://guest:guest@localhost:5672/"
	DefaultManagementPort    = "15672"
	DefaultVhost             = "/"
	DefaultConnectionName    = "funcx-service"
	DefaultPrefetch          = 64
	DefaultPublishChannels   = 2
	DefaultDialTimeout       = 10 * time.Second
	DefaultHeartbeat         = 10 * time.Second
	DefaultManagementTimeout = 10 * time.Second
	DefaultPublishTimeout    = 30 * time.Second
	DefaultRetryDelay        = 100 * time.Millisecond
	DefaultMaxRetryDelay     = 5 * time.Second
	DefaultReconnectDelay    = 100 * time.Millisecond
	DefaultMaxReconnectDelay = 5 * time.Second
	DefaultPoisonAfter       = 10
	DefaultVhostPrefix       = "funcx-ep-"
	// An endpoint holds one connection of two channels; the headroom
	// covers a reconnect while RabbitMQ has not yet noticed the old
	// connection is dead, and a second process briefly sharing the
	// credentials (a restart).
	DefaultEndpointMaxConnections = 4
	DefaultEndpointMaxChannels    = 16
)

// NoLimit lifts an endpoint user limit (EndpointMaxConnections,
// EndpointMaxChannels).
const NoLimit = -1

// Config configures the service's side (New). The zero value reaches a
// local RabbitMQ as guest.
type Config struct {
	// URL is the AMQP URL (amqp:// or amqps://) of the service's own
	// connections, with the user and password of a RabbitMQ user who may
	// declare and delete the endpoints' queues and exchanges. Defaults to
	// DefaultURL.
	URL string
	// ManagementURL is the base URL of RabbitMQ's management HTTP API
	// (http:// or https://), used to create, rotate and delete endpoint
	// users. Its user info, if any, gives the credentials. Defaults to
	// http://<URL's host>:15672.
	ManagementURL string
	// ManagementUser and ManagementPassword authenticate to the
	// management API as an administrator. Default to ManagementURL's
	// user info, else URL's.
	ManagementUser     string
	ManagementPassword string
	// EndpointURL is the AMQP URL endpoints dial, as they see the broker:
	// scheme, host and port only (the credentials and Vhost are added
	// per endpoint). Defaults to URL without its user info and path.
	EndpointURL string
	// Vhost is the virtual host of URL: Ping checks that the service can
	// open it. Each endpoint's queues, exchanges and permissions live in
	// a virtual host of their own (see VhostPrefix). Defaults to URL's
	// vhost, else DefaultVhost.
	Vhost string
	// VhostPrefix names the endpoints' virtual hosts: VhostPrefix + the
	// endpoint ID. The service creates and deletes them, and its user
	// (URL's) is given every permission on them. Give two services
	// sharing one RabbitMQ different prefixes. Defaults to
	// DefaultVhostPrefix.
	VhostPrefix string
	// EndpointMaxConnections and EndpointMaxChannels are RabbitMQ user
	// limits (max-connections, max-channels) set on each endpoint's
	// broker user: the connections it may hold open at once, and the
	// channels over all of them. An endpoint uses one connection of two
	// channels. NoLimit lifts a limit. Default to
	// DefaultEndpointMaxConnections and DefaultEndpointMaxChannels.
	EndpointMaxConnections int
	EndpointMaxChannels    int
	// TLS configures amqps:// and https:// connections of the service.
	// Defaults to nil: system roots, server name from the URL.
	TLS *tls.Config
	// ConnectionName prefixes the names of the service's connections in
	// RabbitMQ's management UI ("<name> publish", "<name> results").
	// Defaults to DefaultConnectionName.
	ConnectionName string

	// PublishChannels is how many confirm channels PublishTasks spreads
	// concurrent publishes over. Defaults to DefaultPublishChannels.
	PublishChannels int
	// ResultPrefetch bounds the unacked messages of each result queue
	// consumer in ConsumeResults, held ones (whose handler failed)
	// included. Defaults to DefaultPrefetch.
	ResultPrefetch int
	// MaxMessage bounds one message body in bytes: PublishTasks splits
	// larger batches. At most broker.DefaultMaxMessage, the size
	// consumers accept. Defaults to broker.DefaultMaxMessage.
	MaxMessage int

	// DialTimeout bounds one connection attempt (TCP, TLS and the AMQP
	// handshake). Defaults to DefaultDialTimeout.
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval. Defaults to
	// DefaultHeartbeat.
	Heartbeat time.Duration
	// ManagementTimeout bounds one management API request. Defaults to
	// DefaultManagementTimeout.
	ManagementTimeout time.Duration
	// PublishTimeout bounds one PublishTasks, reconnects and the confirm
	// included, when its context allows longer. Defaults to
	// DefaultPublishTimeout.
	PublishTimeout time.Duration
	// RetryDelay is the pause before a result message whose handler
	// failed is handed over again; it doubles with each consecutive
	// failure of the endpoint's messages up to MaxRetryDelay. Defaults
	// to DefaultRetryDelay.
	RetryDelay time.Duration
	// MaxRetryDelay caps RetryDelay's growth. Defaults to
	// DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
	// PoisonAfter is how many times a result message's handler may fail
	// before the message is dropped as poisoned, provided other messages
	// were handled meanwhile (a handler failing for every message, its
	// store down, never drops any). Defaults to DefaultPoisonAfter.
	PoisonAfter int
	// ReconnectDelay is the first pause before reconnecting after the
	// broker was lost, or before consuming again an endpoint's result
	// queue that failed (missing, locked); it doubles up to
	// MaxReconnectDelay, for each endpoint on its own. Defaults to
	// DefaultReconnectDelay.
	ReconnectDelay time.Duration
	// MaxReconnectDelay caps ReconnectDelay's growth. Defaults to
	// DefaultMaxReconnectDelay.
	MaxReconnectDelay time.Duration

	// Logger receives warnings (lost connections, dropped messages,
	// failing handlers). Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with zero fields set to their
// defaults. URLs it cannot parse are left for validation to report.
func (c Config) WithDefaults() Config {
	c.URL = cmp.Or(c.URL, DefaultURL)
	if u, err := url.Parse(c.URL); err == nil {
		c.ManagementURL = cmp.Or(c.ManagementURL, "http://"+joinHostPort(u.Hostname(), DefaultManagementPort))
		c.EndpointURL = cmp.Or(c.EndpointURL, u.Scheme+"://"+u.Host)
		if c.Vhost == "" && len(u.Path) > 1 {
			c.Vhost = u.Path[1:]
		}
		if m, err := url.Parse(c.ManagementURL); err == nil && m.User != nil {
			u = m
		}
		if c.ManagementUser == "" && u.User != nil {
			c.ManagementUser = u.User.Username()
			c.ManagementPassword, _ = u.User.Password()
		}
	}
	c.Vhost = cmp.Or(c.Vhost, DefaultVhost)
	c.VhostPrefix = cmp.Or(c.VhostPrefix, DefaultVhostPrefix)
	c.EndpointMaxConnections = cmp.Or(c.EndpointMaxConnections, DefaultEndpointMaxConnections)
	c.EndpointMaxChannels = cmp.Or(c.EndpointMaxChannels, DefaultEndpointMaxChannels)
	c.PoisonAfter = cmp.Or(c.PoisonAfter, DefaultPoisonAfter)
	c.ConnectionName = cmp.Or(c.ConnectionName, DefaultConnectionName)
	c.PublishChannels = cmp.Or(c.PublishChannels, DefaultPublishChannels)
	c.ResultPrefetch = cmp.Or(c.ResultPrefetch, DefaultPrefetch)
	c.MaxMessage = cmp.Or(c.MaxMessage, broker.DefaultMaxMessage)
	c.DialTimeout = cmp.Or(c.DialTimeout, DefaultDialTimeout)
	c.Heartbeat = cmp.Or(c.Heartbeat, DefaultHeartbeat)
	c.ManagementTimeout = cmp.Or(c.ManagementTimeout, DefaultManagementTimeout)
	c.PublishTimeout = cmp.Or(c.PublishTimeout, DefaultPublishTimeout)
	c.RetryDelay = cmp.Or(c.RetryDelay, DefaultRetryDelay)
	c.MaxRetryDelay = cmp.Or(c.MaxRetryDelay, DefaultMaxRetryDelay)
	c.ReconnectDelay = cmp.Or(c.ReconnectDelay, DefaultReconnectDelay)
	c.MaxReconnectDelay = cmp.Or(c.MaxReconnectDelay, DefaultMaxReconnectDelay)
	return c
}

func joinHostPort(host, port string) string {
	return net.JoinHostPort(cmp.Or(host, "localhost"), port)
}

func (c *Config) validate() error {
	if err := checkURL("URL", c.URL, "amqp", "amqps"); err != nil {
		return err
	}
	if err := checkURL("ManagementURL", c.ManagementURL, "http", "https"); err != nil {
		return err
	}
	if err := checkURL("EndpointURL", c.EndpointURL, "amqp", "amqps"); err != nil {
		return err
	}
	if u, _ := url.Parse(c.EndpointURL); u.User != nil || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("rabbitmq: EndpointURL %q: give scheme, host and port only (no user info, no vhost)", redact(c.EndpointURL))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"EndpointMaxConnections", c.EndpointMaxConnections}, {"EndpointMaxChannels", c.EndpointMaxChannels}} {
		if f.v < NoLimit {
			return fmt.Errorf("rabbitmq: %s %d: want a positive limit, or NoLimit (-1)", f.name, f.v)
		}
	}
	if len(c.VhostPrefix) > 50 || strings.Trim(c.VhostPrefix, prefixChars) != "" {
		return fmt.Errorf("rabbitmq: VhostPrefix %q: use up to 50 letters, digits, '-', '_' and '.'", c.VhostPrefix)
	}
	if c.ManagementUser == "" {
		return fmt.Errorf("rabbitmq: ManagementUser is empty and neither ManagementURL nor URL has user info")
	}
	for _, f := range []struct {
		name string
		v    int
		max  int
	}{
		{"PublishChannels", c.PublishChannels, 64},
		{"ResultPrefetch", c.ResultPrefetch, 65535},
		{"MaxMessage", c.MaxMessage, broker.DefaultMaxMessage},
		{"PoisonAfter", c.PoisonAfter, 1 << 20},
	} {
		if f.v < 1 || f.v > f.max {
			return fmt.Errorf("rabbitmq: %s %d is outside 1..%d", f.name, f.v, f.max)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", c.DialTimeout}, {"Heartbeat", c.Heartbeat}, {"ManagementTimeout", c.ManagementTimeout},
		{"PublishTimeout", c.PublishTimeout}, {"RetryDelay", c.RetryDelay}, {"ReconnectDelay", c.ReconnectDelay},
	} {
		if f.v < 0 {
			return fmt.Errorf("rabbitmq: %s %s is negative", f.name, f.v)
		}
	}
	if c.MaxRetryDelay < c.RetryDelay {
		return fmt.Errorf("rabbitmq: MaxRetryDelay %s is below RetryDelay %s", c.MaxRetryDelay, c.RetryDelay)
	}
	if c.MaxReconnectDelay < c.ReconnectDelay {
		return fmt.Errorf("rabbitmq: MaxReconnectDelay %s is below ReconnectDelay %s", c.MaxReconnectDelay, c.ReconnectDelay)
	}
	return nil
}

// prefixChars may make up VhostPrefix.
const prefixChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

func checkURL(field, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("rabbitmq: %s: %w", field, err)
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("rabbitmq: %s %q: want %s://host:port", field, redact(raw), schemes[0])
}

// host is the host:port of a URL, for messages.
func host(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "(unparsable URL)"
}

// redact hides the password of a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// EndpointConfig configures an endpoint's connection (DialEndpoint). The
// zero value is ready to use.
type EndpointConfig struct {
	// Prefetch bounds the task batches delivered and not yet acked.
	// Defaults to DefaultPrefetch.
	Prefetch int
	// MaxMessage bounds one message body in bytes: PublishResults splits
	// larger batches. At most broker.DefaultMaxMessage. Defaults to
	// broker.DefaultMaxMessage.
	MaxMessage int
	// TLS configures amqps:// connections. Defaults to nil: system
	// roots, server name from the URL.
	TLS *tls.Config
	// DialTimeout bounds connecting (TCP, TLS and the AMQP handshake).
	// Defaults to DefaultDialTimeout.
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval: a broker that stops
	// answering ends the connection within about twice this. Defaults
	// to DefaultHeartbeat.
	Heartbeat time.Duration
	// ConnectionName labels the connection in RabbitMQ's management UI.
	// Defaults to the broker user name.
	ConnectionName string
	// Logger receives warnings (dropped malformed batches). Defaults to
	// nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c EndpointConfig) WithDefaults() EndpointConfig {
	c.Prefetch = cmp.Or(c.Prefetch, DefaultPrefetch)
	c.MaxMessage = cmp.Or(c.MaxMessage, broker.DefaultMaxMessage)
	c.DialTimeout = cmp.Or(c.DialTimeout, DefaultDialTimeout)
	c.Heartbeat = cmp.Or(c.Heartbeat, DefaultHeartbeat)
	return c
}

func (c *EndpointConfig) validate() error {
	switch {
	case c.Prefetch < 1 || c.Prefetch > 65535:
		return fmt.Errorf("rabbitmq: Prefetch %d is outside 1..65535", c.Prefetch)
	case c.MaxMessage < 1 || c.MaxMessage > broker.DefaultMaxMessage:
		return fmt.Errorf("rabbitmq: MaxMessage %d is outside 1..%d", c.MaxMessage, broker.DefaultMaxMessage)
	case c.DialTimeout < 0:
		return fmt.Errorf("rabbitmq: DialTimeout %s is negative", c.DialTimeout)
	case c.Heartbeat < 0:
		return fmt.Errorf("rabbitmq: Heartbeat %s is negative", c.Heartbeat)
	}
	return nil
}
