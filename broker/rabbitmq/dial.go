package rabbitmq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
)

// dialConfig is one connection to open.
type dialConfig struct {
	url string
	// user and password override the URL's user info when user is set.
	user, password string
	// vhost overrides the URL's path when set.
	vhost     string
	tls       *tls.Config
	timeout   time.Duration
	heartbeat time.Duration
	// name labels the connection in the management UI and API
	// (client_properties.connection_name).
	name string
}

// dial opens an AMQP connection. ctx bounds the whole handshake, as does
// the timeout.
func dial(ctx context.Context, dc dialConfig) (*amqp.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := amqp.Config{
		Vhost:      dc.vhost,
		Heartbeat:  dc.heartbeat,
		Properties: amqp.Table{"connection_name": dc.name, "product": "funcx-go"},
		Locale:     "en_US",
	}
	if dc.tls != nil {
		cfg.TLSClientConfig = dc.tls.Clone()
	}
	if dc.user != "" {
		cfg.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: dc.user, Password: dc.password}}
	}
	// The handshake does not take a context: the socket's deadline bounds
	// it (amqp091 clears it once the connection is open), and a cancelled
	// ctx moves the deadline to now.
	var stop func() bool
	cfg.Dial = func(network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{Timeout: dc.timeout}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		deadline := time.Now().Add(dc.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := nc.SetDeadline(deadline); err != nil {
			nc.Close()
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
		return nc, nil
	}
	conn, err := amqp.DialConfig(dc.url, cfg)
	if stop != nil && !stop() && err == nil {
		// ctx ended just as the handshake finished: the deadline it set
		// would break the connection later.
		conn.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, classify(err)
	}
	return conn, nil
}

// classify wraps AMQP errors callers branch on in the broker package's
// sentinels, keeping RabbitMQ's own words.
func classify(err error) error {
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case amqp.AccessRefused:
		if !strings.Contains(ae.Reason, "ACCESS_REFUSED") {
			return fmt.Errorf("%w: ACCESS_REFUSED: %w", broker.ErrAccessRefused, err)
		}
		return fmt.Errorf("%w: %w", broker.ErrAccessRefused, err)
	case amqp.NotFound:
		if strings.Contains(ae.Reason, "no exchange") || strings.Contains(ae.Reason, "no queue") {
			return fmt.Errorf("%w: %w", broker.ErrUnknownEndpoint, err)
		}
	case amqp.NotAllowed:
		// Opening a virtual host: "vhost x not found" (the endpoint's
		// was never created, or deleted), "access to vhost 'x' refused
		// for user 'y'" (another endpoint's), or a connection limit
		// reached, which passes.
		switch {
		case strings.Contains(ae.Reason, "limit"):
		case strings.Contains(ae.Reason, "not found"):
			return fmt.Errorf("%w: %w", broker.ErrUnknownEndpoint, err)
		case strings.Contains(ae.Reason, "refused"):
			return fmt.Errorf("%w: ACCESS_REFUSED: %w", broker.ErrAccessRefused, err)
		}
	}
	return err
}

// permanent reports whether retrying err cannot help: a refusal, a
// missing endpoint, an item too large, a closed Service, or an AMQP
// error about the request itself rather than the connection.
func permanent(err error) bool {
	if errors.Is(err, broker.ErrAccessRefused) || errors.Is(err, broker.ErrUnknownEndpoint) ||
		errors.Is(err, broker.ErrTooLarge) || errors.Is(err, broker.ErrClosed) {
		return true
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused, amqp.NotFound, amqp.PreconditionFailed, amqp.ResourceLocked,
			amqp.NotAllowed, amqp.CommandInvalid, amqp.SyntaxError, amqp.FrameError:
			return true
		}
	}
	return false
}
