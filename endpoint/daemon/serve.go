package daemon

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// Serve runs the profile's endpoint until ctx ends; see the package
// documentation. It calls cfg.Ready exactly once, and returns after a
// stop that cancelled every block and stopped every process of the run.
// A second Serve of the same profile fails with a *profile.RunningError.
func Serve(ctx context.Context, cfg Config) (err error) {
	cfg = cfg.WithDefaults()
	ready := once(cfg.Ready)
	defer func() { ready(err) }() // a no-op once reported
	if err := cfg.validate(); err != nil {
		return err
	}
	s := &server{cfg: cfg, p: cfg.Profile, ready: ready, up: make(chan struct{}), started: time.Now(), certRefused: make(chan error, 1)}
	if err := s.settle(); err != nil {
		return err
	}
	lock, err := s.p.AcquireDaemonLock()
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, s.p.RemoveRun())
		// Last: without daemon.pid, the stop was clean.
		err = errors.Join(err, lock.Release())
	}()
	logFile := s.openLog()
	defer logFile.Close()
	return s.serve(ctx)
}

// once returns fn made safe to call more than once (and nil-safe).
func once(fn func(error)) func(error) {
	var o sync.Once
	return func(err error) {
		o.Do(func() {
			if fn != nil {
				fn(err)
			}
		})
	}
}

// server is one Serve.
type server struct {
	cfg     Config
	p       *profile.Profile
	engine  endpoint.Config
	grace   time.Duration
	log     *slog.Logger
	ready   func(error)
	up      chan struct{}
	started time.Time
	eng     atomic.Pointer[endpoint.Engine]
	dialErr atomic.Pointer[error]
	// brokerTLS is the amqps:// link's TLS configuration (nil: the
	// system's roots); certRefused gets the first broker certificate
	// refused, which retrying does not mend: the start fails at once.
	brokerTLS   *tls.Config
	certRefused chan error
}

// settle works out the engine's configuration and the stop grace period,
// loading config.toml unless the configuration names them.
func (s *server) settle() error {
	s.grace = s.cfg.StopGrace
	if s.cfg.Endpoint != nil {
		s.engine = *s.cfg.Endpoint
	} else {
		file, err := s.p.Load()
		if err != nil {
			return err
		}
		s.engine, s.grace = file.Config, cmp.Or(s.grace, file.StopGrace)
	}
	s.grace = cmp.Or(s.grace, endpoint.DefaultStopGrace)
	s.engine.DisplayName = cmp.Or(s.engine.DisplayName, s.p.Name)
	// Block scripts and their output in the profile (submit_scripts/),
	// where funcX keeps them: batch jobs write there from the compute
	// nodes, and nothing is left in /tmp by a daemon that died.
	s.engine.LogDir = cmp.Or(s.engine.LogDir, s.p.Dir())
	var err error
	s.brokerTLS, err = brokerTLS(s.cfg.Handoff.BrokerCAFile)
	return err
}

// serve runs the endpoint and waits for it to come up, then until it
// stops.
func (s *server) serve(ctx context.Context) error {
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	done := make(chan error, 1)
	go func() { done <- endpoint.Run(runCtx, s.runConfig()) }()
	s.log.Info("starting endpoint", "endpoint", s.cfg.Handoff.EndpointID, "pid", os.Getpid())
	if err := s.awaitUp(done, cancelRun); err != nil {
		return err
	}
	s.log.Info("endpoint is up", "endpoint", s.cfg.Handoff.EndpointID, "run", s.eng.Load().RunID())
	s.ready(nil)
	err := s.untilStopped(ctx, done)
	if err != nil {
		s.log.Error("endpoint stopped on an error", "err", err)
		return err
	}
	s.log.Info("endpoint stopped")
	return nil
}

func (s *server) runConfig() endpoint.RunConfig {
	cfg := s.engine
	cfg.Logger = s.log
	return endpoint.RunConfig{
		Config:      cfg,
		EndpointID:  s.cfg.Handoff.EndpointID,
		JournalPath: s.p.Path(profile.JournalFile),
		StopGrace:   s.grace,
		Dial:        s.dial,
		Ready:       func() { close(s.up) },
		OnEngine:    s.onEngine,
	}
}

// dial connects to the broker, keeping the error for a start-up that
// times out.
func (s *server) dial(ctx context.Context) (broker.EndpointConn, error) {
	var c broker.EndpointConn
	var err error
	if s.cfg.Dial != nil {
		c, err = s.cfg.Dial(ctx)
	} else {
		c, err = rabbitmq.DialEndpoint(ctx, s.cfg.Handoff.credentials(), rabbitmq.EndpointConfig{Logger: s.log, TLS: s.brokerTLS})
	}
	if cerr := brokerCertError(s.cfg.Handoff.Broker.URL, err); cerr != nil {
		err = cerr
		select {
		case s.certRefused <- err:
		default:
		}
	}
	if err != nil {
		s.dialErr.Store(&err)
		return nil, err
	}
	return c, nil
}

// onEngine records the run before any block starts: a crash from here on
// is cleaned up.
func (s *server) onEngine(en *endpoint.Engine) {
	s.eng.Store(en)
	rec := profile.RunRecord{RunID: en.RunID(), PID: os.Getpid(), Started: s.started,
		ProviderType: s.engine.WithDefaults().Provider.Type, StopGrace: s.grace}
	if err := s.p.SaveRun(rec); err != nil {
		s.log.Error("recording the run failed: a crash could leave its processes behind", "err", err)
	}
}

// awaitUp waits until the endpoint is up, ends, or is not up in time.
func (s *server) awaitUp(done <-chan error, cancelRun context.CancelFunc) error {
	timer := time.NewTimer(s.cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-s.up:
		return nil
	case err := <-done:
		if err == nil {
			err = errors.New("interrupted before it was up")
		}
		s.log.Error("endpoint did not start", "err", err)
		return fmt.Errorf("endpoint %s did not start: %w", s.p.Name, err)
	case err := <-s.certRefused:
		cancelRun()
		<-done
		s.log.Error("endpoint did not start", "err", err)
		return fmt.Errorf("endpoint %s did not start: %w", s.p.Name, err)
	case <-timer.C:
		cancelRun()
		<-done
		why := "the engine did not start"
		if e := s.dialErr.Load(); e != nil {
			why = "cannot reach the broker: " + (*e).Error()
		}
		s.log.Error("endpoint not up in time", "timeout", s.cfg.StartTimeout, "why", why)
		return fmt.Errorf("endpoint %s is not up after %s: %s", s.p.Name, s.cfg.StartTimeout, why)
	}
}

// untilStopped records the run while it runs, and once it has stopped
// kills the processes of the run that outlived its blocks.
func (s *server) untilStopped(ctx context.Context, done <-chan error) error {
	recorderDone := make(chan struct{})
	recordCtx, stopRecording := context.WithCancel(context.Background())
	go func() {
		defer close(recorderDone)
		s.record(recordCtx, ctx.Done())
	}()
	err := <-done
	stopRecording()
	<-recorderDone
	// The engine has cancelled its blocks. A task may have left a process
	// of its own session behind (setsid, a daemonizing tool): it carries
	// the run ID, and nothing may outlive a stop.
	killCtx, cancelKill := context.WithTimeout(context.Background(), StragglerTimeout)
	defer cancelKill()
	if killed, kerr := profile.KillRun(killCtx, s.eng.Load().RunID()); len(killed) > 0 || kerr != nil {
		s.log.Warn("stopped processes of the run that outlived its blocks", "pids", killed, "err", kerr)
	}
	return err
}
