package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
)

// Defaults of the daemon.
const (
	// blockRecordPeriod is how often run.json is brought up to date with
	// the engine's blocks, and stopRecordPeriod with a stop's progress.
	blockRecordPeriod = time.Second
	stopRecordPeriod  = 100 * time.Millisecond
	// stragglerTimeout bounds stopping processes that outlived the
	// run's blocks.
	stragglerTimeout = 30 * time.Second
	// Log rotation of endpoint.log.
	logMaxMB      = 20
	logMaxBackups = 5
)

// statusFD is the daemon's end of the pipe on which it reports to start
// whether it came up (ExtraFiles[0]).
const statusFD = 3

// handoff is what start passes the daemon on its stdin: the registration.
// It holds the broker password, so it goes through a pipe, never argv or
// the environment.
type handoff struct {
	EndpointID string                `json:"endpoint_id"`
	Broker     api.BrokerCredentials `json:"broker"`
}

// daemonReport is the daemon's one message to start: up, or why not.
type daemonReport struct {
	Ready bool   `json:"ready"`
	PID   int    `json:"pid"`
	Error string `json:"error,omitempty"`
}

type daemonCmd struct {
	Name         string        `arg:"" help:"Profile name."`
	StartTimeout time.Duration `name:"start-timeout" default:"60s" help:"Give up if not up within this."`
}

// Run is the background daemon: it reads the handoff from stdin, reports
// on fd 3, and serves until SIGTERM or SIGINT.
func (c *daemonCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	status := os.NewFile(statusFD, "status")
	var console *switchWriter
	if e.cli.LogToConsole {
		console = &switchWriter{w: e.sys.stderr}
		console.on.Store(true)
	}
	var once sync.Once
	report := func(err error) {
		once.Do(func() {
			if console != nil {
				console.on.Store(false)
			}
			r := daemonReport{Ready: err == nil, PID: os.Getpid()}
			if err != nil {
				r.Error = err.Error()
			}
			if status != nil {
				_ = json.NewEncoder(status).Encode(r)
				_ = status.Close()
			}
			// From now on nobody reads our console: stderr goes to the log
			// file, which the daemon opened for panics and the runtime.
			if f, ferr := os.OpenFile(p.Path(profile.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); ferr == nil {
				_ = unix.Dup2(int(f.Fd()), 2)
				_ = f.Close()
			}
		})
	}
	var h handoff
	if err := json.NewDecoder(io.LimitReader(e.sys.stdin, 1<<20)).Decode(&h); err != nil {
		err = fmt.Errorf("daemon: read the registration from start: %w", err)
		report(err)
		return err
	}
	if console == nil {
		return e.serve(e.ctx, p, h, nil, c.StartTimeout, report)
	}
	return e.serve(e.ctx, p, h, console, c.StartTimeout, report)
}

// switchWriter writes to w until it is switched off.
type switchWriter struct {
	w  io.Writer
	on atomic.Bool
}

func (s *switchWriter) Write(b []byte) (int, error) {
	if s.on.Load() {
		_, _ = s.w.Write(b)
	}
	return len(b), nil
}

// teeWriter writes to both; the console's errors are ignored.
type teeWriter struct{ file, console io.Writer }

func (t teeWriter) Write(b []byte) (int, error) {
	_, _ = t.console.Write(b)
	return t.file.Write(b)
}

// serve runs the endpoint until ctx ends. It takes the profile's daemon
// lock, logs to endpoint.log (and console, if set, until report is
// called), records the run in run.json, and calls report exactly once:
// with nil once the endpoint is up, or with the reason it could not
// start. It returns after a stop that cancelled every block.
func (e *env) serve(ctx context.Context, p *profile.Profile, h handoff, console io.Writer, startTimeout time.Duration, report func(error)) (err error) {
	defer func() {
		report(err) // a no-op once reported
	}()
	file, err := p.Load()
	if err != nil {
		return err
	}
	lock, err := p.AcquireDaemonLock()
	if err != nil {
		return err
	}
	defer func() {
		if rerr := p.RemoveRun(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		// Last: without daemon.pid, the stop was clean.
		err = errors.Join(err, lock.Release())
	}()

	logFile := &lumberjack.Logger{Filename: p.Path(profile.LogFile), MaxSize: logMaxMB, MaxBackups: logMaxBackups}
	defer logFile.Close()
	var out io.Writer = logFile
	if console != nil {
		out = teeWriter{file: logFile, console: console}
	}
	level := slog.LevelInfo
	if e.cli.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})).With("profile", p.Name)

	cfg := file.Config
	cfg.Logger = log
	if cfg.DisplayName == "" {
		cfg.DisplayName = p.Name
	}
	if cfg.LogDir == "" {
		// Block scripts and their output in the profile (submit_scripts/),
		// where funcX keeps them: batch jobs write there from the compute
		// nodes, and nothing is left in /tmp by a daemon that died.
		cfg.LogDir = p.Dir()
	}
	if h.Broker.URL == "" {
		return errors.New("the service gave no broker URL: it runs an in-process broker that endpoints cannot reach; run funcx-service with RabbitMQ")
	}
	creds := broker.Credentials{URL: h.Broker.URL, Username: h.Broker.Username, Password: h.Broker.Password,
		TaskQueue: h.Broker.TaskQueue, ResultExchange: h.Broker.ResultExchange}
	var lastDialErr atomic.Pointer[error]
	var eng atomic.Pointer[endpoint.Engine]
	ready := make(chan struct{})
	started := time.Now()
	stopGrace := cmp.Or(file.StopGrace, endpoint.DefaultStopGrace)
	rc := endpoint.RunConfig{
		Config:      cfg,
		EndpointID:  h.EndpointID,
		JournalPath: p.Path(profile.JournalFile),
		StopGrace:   stopGrace,
		Dial: func(ctx context.Context) (broker.EndpointConn, error) {
			c, err := rabbitmq.DialEndpoint(ctx, creds, rabbitmq.EndpointConfig{Logger: log})
			if err != nil {
				lastDialErr.Store(&err)
				return nil, err
			}
			return c, nil
		},
		Ready: func() { close(ready) },
		OnEngine: func(en *endpoint.Engine) {
			eng.Store(en)
			// Before any block starts: a crash from here on is cleaned up.
			rec := profile.RunRecord{RunID: en.RunID(), PID: os.Getpid(), Started: started, ProviderType: cfg.WithDefaults().Provider.Type,
				StopGrace: stopGrace}
			if err := p.SaveRun(rec); err != nil {
				log.Error("recording the run failed: a crash could leave its processes behind", "err", err)
			}
		},
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	done := make(chan error, 1)
	go func() { done <- endpoint.Run(runCtx, rc) }()
	log.Info("starting endpoint", "endpoint", h.EndpointID, "pid", os.Getpid())

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case err := <-done:
		if err == nil {
			err = errors.New("interrupted before it was up")
		}
		log.Error("endpoint did not start", "err", err)
		return fmt.Errorf("endpoint %s did not start: %w", p.Name, err)
	case <-timer.C:
		cancelRun()
		<-done
		why := "the engine did not start"
		if e := lastDialErr.Load(); e != nil {
			why = "cannot reach the broker: " + (*e).Error()
		}
		log.Error("endpoint not up in time", "timeout", startTimeout, "why", why)
		return fmt.Errorf("endpoint %s is not up after %s: %s", p.Name, startTimeout, why)
	}
	log.Info("endpoint is up", "endpoint", h.EndpointID, "run", eng.Load().RunID())
	report(nil)

	recorderDone := make(chan struct{})
	recordCtx, stopRecording := context.WithCancel(context.Background())
	go func() {
		defer close(recorderDone)
		recordRun(recordCtx, ctx.Done(), p, eng.Load(), log)
	}()
	err = <-done
	stopRecording()
	<-recorderDone
	// The engine has cancelled its blocks. A task may have left a process
	// of its own session behind (setsid, a daemonizing tool): it carries
	// the run ID, and nothing may outlive a stop.
	killCtx, cancelKill := context.WithTimeout(context.Background(), stragglerTimeout)
	defer cancelKill()
	if killed, kerr := profile.KillRun(killCtx, eng.Load().RunID()); len(killed) > 0 || kerr != nil {
		log.Warn("stopped processes of the run that outlived its blocks", "pids", killed, "err", kerr)
	}
	if err != nil {
		log.Error("endpoint stopped on an error", "err", err)
		return err
	}
	log.Info("endpoint stopped")
	return nil
}

// recordRun keeps run.json up to date until ctx ends: the blocks, so
// that a clean-up after a crash can cancel batch jobs, and once stopping
// is closed the stop's progress, which stop shows.
func recordRun(ctx context.Context, stopping <-chan struct{}, p *profile.Profile, eng *endpoint.Engine, log *slog.Logger) {
	rec, _, err := p.Run()
	if err != nil {
		log.Error("reading run.json failed", "err", err)
		return
	}
	t := time.NewTicker(blockRecordPeriod)
	defer t.Stop()
	for {
		st := eng.Status()
		var blocks []profile.BlockRecord
		for _, b := range st.Blocks.Blocks {
			if b.JobID != "" && !b.State.Terminal() {
				blocks = append(blocks, profile.BlockRecord{BlockID: b.ID, JobID: string(b.JobID)})
			}
		}
		changed := !slices.Equal(blocks, rec.Blocks)
		rec.Blocks = blocks
		if rec.Stopping == nil {
			select {
			case <-stopping:
				rec.Stopping = &profile.StopRecord{Since: time.Now(), InFlight: st.Interchange.InFlight}
				stopping = nil // seen: it wakes the loop no more
				t.Reset(stopRecordPeriod)
				changed = true
			default:
			}
		} else if n := st.Interchange.InFlight; n != rec.Stopping.InFlight {
			rec.Stopping.InFlight = n
			changed = true
		}
		if changed {
			if err := p.SaveRun(rec); err != nil {
				log.Error("recording the run failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-stopping:
		}
	}
}
