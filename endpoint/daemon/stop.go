package daemon

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/procfs"
)

// StopSlack is what Stop waits for a daemon beyond twice its grace
// period (the tasks', then the engine's): the least time its results get
// (endpoint.MinStopPublish), the stop of its stragglers, and a margin.
const StopSlack = endpoint.MinStopPublish + StragglerTimeout + 25*time.Second

// Waits of Stop: how often it looks at the daemon, how long a killed
// daemon gets before it is killed again, and how long its exit may lag
// behind the release of its lock.
const (
	stopPoll   = 50 * time.Millisecond
	killedWait = time.Minute
	exitWait   = 10 * time.Second
)

// StopConfig is how Stop stops a daemon.
type StopConfig struct {
	// Timeout is how long the daemon gets to finish tasks in flight,
	// publish their results and cancel its blocks before it is killed
	// (and cleaned up after). Defaults to twice its stop grace period
	// plus StopSlack.
	Timeout time.Duration
	// Progress, if set, is told what the stop does and waits for, each
	// time that changes. Defaults to none.
	Progress func(StopProgress)
}

// StopEvent is a step of a stop.
type StopEvent int

// The steps of a stop, in order.
const (
	// StopShortTimeout: Timeout is shorter than Grace and
	// endpoint.MinStopPublish: tasks still running then are killed (they
	// run again at the next start).
	StopShortTimeout StopEvent = iota + 1
	// StopSignalled: the daemon PID was told to stop; tasks in flight get
	// up to Grace.
	StopSignalled
	// StopWaiting: InFlight tasks are still running, for up to Left.
	StopWaiting
	// StopPublishing: no task is in flight; the daemon publishes results
	// and cancels its blocks.
	StopPublishing
	// StopKilling: the daemon PID did not stop within Timeout and is
	// killed.
	StopKilling
)

// StopProgress is one step of a stop, with the figures it concerns.
type StopProgress struct {
	Event    StopEvent
	PID      int
	Grace    time.Duration
	Timeout  time.Duration
	InFlight int
	Left     time.Duration
}

// StopReport says what Stop did.
type StopReport struct {
	// PID is the daemon that was stopped; 0 when none was running.
	PID int
	// Cleanup is set when Stop cleaned up after a daemon that had died,
	// or that it killed.
	Cleanup *CleanupReport
}

// Stop stops the profile's daemon and waits until it is gone: a running
// one is signalled (SIGTERM), and killed if it outlives the timeout; a
// Disconnected profile is cleaned up (Cleanup, with the configuration in
// config.toml); a stopped one needs nothing. If ctx ends first, the
// daemon goes on stopping in the background.
func Stop(ctx context.Context, p *profile.Profile, cfg StopConfig) (StopReport, error) {
	var rep StopReport
	st, err := p.Status()
	if err != nil {
		return rep, err
	}
	switch st.State {
	case profile.Initialized, profile.Stopped:
		return rep, nil
	case profile.Disconnected:
		return rep, cleanupAfterStop(ctx, p, &rep)
	}
	rep.PID = st.PID
	// Named now, while it holds its lock: once it has exited, its PID
	// may name another process.
	daemon, live := procfs.Identify(st.PID)
	s := &stopper{p: p, cfg: cfg, grace: StopGrace(p)}
	if st, err = s.stop(ctx, st.PID); err != nil {
		return rep, err
	}
	// The lock is released as the daemon exits; wait for the exit itself.
	if live {
		waitGone(daemon, exitWait)
	}
	if st.State == profile.Disconnected {
		return rep, cleanupAfterStop(ctx, p, &rep)
	}
	return rep, nil
}

// StopGrace is the stop grace period of the profile's daemon, as it
// recorded it in run.json, else as config.toml sets it.
func StopGrace(p *profile.Profile) time.Duration {
	if r, ok, err := p.Run(); err == nil && ok && r.StopGrace > 0 {
		return r.StopGrace
	}
	if f, err := p.Load(); err == nil && f.StopGrace > 0 {
		return f.StopGrace
	}
	return endpoint.DefaultStopGrace
}

// cleanupAfterStop cleans up with config.toml's configuration; a broken
// one still lets local processes be cleaned up.
func cleanupAfterStop(ctx context.Context, p *profile.Profile, rep *StopReport) error {
	f, cerr := p.Load()
	c, err := Cleanup(ctx, p, f.Config)
	c.ConfigErr = cerr
	rep.Cleanup = &c
	return err
}

// stopper is one Stop of a running daemon.
type stopper struct {
	p     *profile.Profile
	cfg   StopConfig
	grace time.Duration
	shown bool
	last  int // tasks in flight last told
}

func (s *stopper) tell(pr StopProgress) {
	if s.cfg.Progress != nil {
		s.cfg.Progress(pr)
	}
}

// stop signals the daemon and waits until it no longer runs, killing it
// after the timeout; it returns the profile's status then.
func (s *stopper) stop(ctx context.Context, pid int) (profile.Status, error) {
	timeout := s.cfg.Timeout
	if timeout == 0 {
		timeout = 2*s.grace + StopSlack
	} else if timeout < s.grace+endpoint.MinStopPublish {
		s.tell(StopProgress{Event: StopShortTimeout, PID: pid, Grace: s.grace, Timeout: timeout})
	}
	s.tell(StopProgress{Event: StopSignalled, PID: pid, Grace: s.grace, Timeout: timeout})
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return profile.Status{}, fmt.Errorf("stop endpoint %s: signal pid %d: %w", s.p.Name, pid, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.p.Status()
		if err != nil || st.State != profile.Running {
			return st, err
		}
		if time.Now().After(deadline) {
			s.tell(StopProgress{Event: StopKilling, PID: st.PID, Grace: s.grace, Timeout: timeout})
			_ = syscall.Kill(st.PID, syscall.SIGKILL)
			timeout, deadline = killedWait, time.Now().Add(killedWait)
			continue
		}
		s.progress()
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("stop endpoint %s: still stopping in the background: %w", s.p.Name, ctx.Err())
		case <-time.After(stopPoll):
		}
	}
}

// progress tells what the stopping daemon waits for, from what it
// records in run.json, when that changed.
func (s *stopper) progress() {
	r, ok, err := s.p.Run()
	if err != nil || !ok || r.Stopping == nil {
		return
	}
	n := r.Stopping.InFlight
	if s.shown && n == s.last {
		return
	}
	s.shown, s.last = true, n
	if n == 0 {
		s.tell(StopProgress{Event: StopPublishing, Grace: s.grace})
		return
	}
	left := max(time.Until(r.Stopping.Since.Add(s.grace)).Round(time.Second), 0)
	s.tell(StopProgress{Event: StopWaiting, Grace: s.grace, InFlight: n, Left: left})
}

// waitGone waits until p has exited (or is a zombie), at most timeout.
func waitGone(p procfs.Proc, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for p.Alive() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}
