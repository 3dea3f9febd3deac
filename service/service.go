package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/funcx-go/funcx/broker"
)

// Service is the funcX web service: the HTTP API, its store, and the
// broker link that publishes tasks and consumes results and heartbeats.
type Service struct {
	cfg         Config
	store       Store
	broker      broker.Service
	log         *slog.Logger
	now         func() time.Time
	metrics     *metrics
	notify      *notifier
	live        *liveness
	seen        *lookups // records submissions remember; see lookups.go
	clients     *clientLimiter
	budget      *bodyBudget
	handler     http.Handler
	cert        *certificate // nil: plain HTTP
	metricsAuth metricsGate

	mu       sync.Mutex
	started  bool
	cancel   context.CancelFunc // ends the background goroutines
	wg       sync.WaitGroup
	stopping chan struct{} // closed by Stop; wakes long polls
	stopOnce sync.Once
	addr     atomic.Pointer[net.Addr]

	streamWriteTimeout time.Duration // streamWriteTimeout; shorter in tests
}

// New returns a service configured by cfg. It starts nothing: see Start
// and ListenAndServe.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:      cfg,
		store:    cfg.Store,
		broker:   cfg.Broker,
		log:      cfg.Logger.With("component", "service"),
		now:      cfg.Clock,
		notify:   newNotifier(),
		live:     newLiveness(),
		seen:     &lookups{endpoints: recordCache[Endpoint]{ttl: endpointTTL}, tokens: recordCache[tokenIdentity]{ttl: tokenTTL}},
		stopping: make(chan struct{}),
		clients:  newClientLimiter(cfg.MaxUnauthenticatedPerClient),
		budget:   newBodyBudget(cfg.MaxBodyBytesInFlight),

		streamWriteTimeout: streamWriteTimeout,
	}
	s.metricsAuth = newMetricsGate(cfg.MetricsToken)
	if cfg.TLSCertFile != "" {
		c, err := newCertificate(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("service: %w", err)
		}
		s.cert = c
		if err := cfg.Registry.Register(newCertMetric(c)); err != nil {
			return nil, fmt.Errorf("service: register metrics: %w", err)
		}
	}
	m, err := newMetrics(cfg.Registry, func() float64 { return float64(s.live.online(s.now(), s.offlineAfter())) })
	if err != nil {
		return nil, fmt.Errorf("service: register metrics: %w", err)
	}
	s.metrics = m
	if s.broker != nil {
		if err := cfg.Registry.Register(newConsumerCollector(s.broker.ConsumerStats)); err != nil {
			return nil, fmt.Errorf("service: register metrics: %w", err)
		}
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "funcx_service", Name: "body_bytes_in_flight",
		Help: "Request body bytes held now, of Config.MaxBodyBytesInFlight."}, func() float64 { used, _ := s.budget.inFlight(); return float64(used) })
	if err := cfg.Registry.Register(inFlight); err != nil {
		return nil, fmt.Errorf("service: register metrics: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the service's HTTP API.
func (s *Service) Handler() http.Handler { return s.handler }

// Start starts the background work: the consumer of results and
// heartbeats, of every stored endpoint (the broker is handed them all
// first, so that a restarted service, or a second one on the same store,
// resumes them without any endpoint action), the sweeper of expired
// tokens and unpublished tasks, the deletion of expired results
// (Config.ResultTTL), and on a SharedStore the watch of the other
// replicas' changes. It returns once they run; Stop ends them.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.broker == nil:
		return errors.New("service: start: Config.Broker is required")
	case s.started:
		return errors.New("service: start: already started")
	}
	select {
	case <-s.stopping:
		return errors.New("service: start: already stopped")
	default:
	}
	if err := s.resume(ctx); err != nil {
		return fmt.Errorf("service: start: %w", err)
	}
	// The background work outlives Start's ctx (often a request's or a
	// setup's); Stop ends it.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.started = true
	s.wg.Go(func() { s.consume(runCtx) })
	s.wg.Go(func() { s.sweep(runCtx) })
	s.wg.Go(func() { s.retain(runCtx) })
	s.wg.Go(func() { s.resync(runCtx) })
	if st, ok := s.store.(SharedStore); ok {
		s.wg.Go(func() { s.watchShared(runCtx, st) })
	}
	return nil
}

// Stop ends the background work and wakes long polls, which answer with
// what they have. It returns ctx.Err() if ctx ends first. Stop may be
// called more than once, and before Start.
func (s *Service) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("service: stop: %w", ctx.Err())
	}
}

// TLSConfig is the TLS configuration Serve uses, nil when the service
// serves plain HTTP: for an embedder serving Handler on an http.Server
// of its own. It serves the certificate of the latest ReloadTLS.
func (s *Service) TLSConfig() *tls.Config {
	if s.cert == nil {
		return nil
	}
	return s.cert.serverConfig()
}

// Addr is the address ListenAndServe or Serve listens on, nil before.
func (s *Service) Addr() net.Addr {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// ListenAndServe listens on Config.Listen and serves the API with Start's
// background work until ctx ends, then shuts down gracefully (within
// Config.ShutdownTimeout) and returns nil.
func (s *Service) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("service: listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on a listener of the caller's; it closes ln.
// With Config.TLSCertFile it serves HTTPS (HTTP/1.1 over TLS 1.2 or
// later); without, plain HTTP, and it logs a warning if ln is not on a
// loopback address.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	addr := ln.Addr()
	s.addr.Store(&addr)
	if err := s.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if s.cert != nil {
		scheme = "https"
		ln = tls.NewListener(ln, s.cert.serverConfig())
		kp := s.cert.cur.Load()
		s.log.Info("serving HTTPS", certAttrs(kp)...)
		s.warnExpired(kp)
	} else {
		warnPlainHTTP(s.log, addr)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", addr.String(), "scheme", scheme)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	// Stop first: it wakes long polls, which Shutdown would otherwise
	// wait for.
	stopErr := s.Stop(sctx)
	shutErr := srv.Shutdown(sctx)
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if serveErr != nil {
		serveErr = fmt.Errorf("service: serve: %w", serveErr)
	}
	if shutErr != nil {
		shutErr = fmt.Errorf("service: shut down: %w", shutErr)
	}
	return errors.Join(serveErr, stopErr, shutErr)
}

// offlineAfter is how long after its last heartbeat an endpoint is
// offline.
func (s *Service) offlineAfter() time.Duration { return MissedHeartbeats * s.cfg.HeartbeatPeriod }
