package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx/internal/tlsconf"
)

// Client talks to the funcX service: typed calls for each route of
// service/api, and Executors that batch submissions and resolve futures
// from one results long poll. It is safe for concurrent use. Close stops
// every goroutine it started.
type Client struct {
	cfg     Config
	base    string
	http    *http.Client
	ownHTTP bool
	log     *slog.Logger
	auth    tokenSource

	// ctx is cancelled by Close; background work (submission batches,
	// the results long poll) runs under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	results *watcher

	mu        sync.Mutex
	closed    bool
	executors map[*Executor]struct{}
}

// New validates cfg and returns a Client. It does not contact the service:
// the first call fetches a token.
func New(cfg Config) (*Client, error) {
	ownHTTP := cfg.HTTPClient == nil
	if !ownHTTP && cfg.CAFile != "" {
		return nil, errors.New("client config: CAFile and HTTPClient are both set: give HTTPClient's transport the CA in its TLS RootCAs instead")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.CAFile != "" {
		tc, err := tlsconf.Client(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("client config: %w", err)
		}
		// WithDefaults made this transport for this client alone.
		cfg.HTTPClient.Transport.(*http.Transport).TLSClientConfig = tc
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:       cfg,
		base:      strings.TrimRight(cfg.ServiceURL, "/"),
		http:      cfg.HTTPClient,
		ownHTTP:   ownHTTP,
		log:       cfg.Logger,
		ctx:       ctx,
		cancel:    cancel,
		executors: make(map[*Executor]struct{}),
	}
	c.auth = tokenSource{static: cfg.Token, fetch: c.fetchToken, now: time.Now}
	c.results = newWatcher(c)
	return c, nil
}

// Close stops the client: submissions not yet sent and futures not yet
// resolved fail with ErrClosed, in-flight requests of the background
// loops are cancelled, and Close returns once every goroutine the client
// started has ended. Calls made with the caller's own context are not
// interrupted. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	executors := c.executors
	c.executors = nil
	c.mu.Unlock()

	c.cancel()
	for ex := range executors {
		ex.abort()
	}
	c.results.close()
	c.wg.Wait()
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// isClosed reports whether Close has been called.
func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// closedErr turns the cancellation of a background request by Close into
// ErrClosed, which says what happened better than "context canceled".
func (c *Client) closedErr(err error) error {
	if c.ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ErrClosed, err)
	}
	return err
}
