package main

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/procfs"
)

type stopCmd struct {
	Name    string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Timeout time.Duration `help:"How long the daemon gets to finish tasks in flight, publish their results and cancel its blocks before it is killed (and cleaned up after) (default: twice the endpoint's stop_grace plus a minute: 2m)."`
}

// stopSlack is what stop waits for a daemon beyond twice its grace
// period (the tasks', then the engine's): the least time its results get
// (endpoint.MinStopPublish), the stop of its stragglers, and a margin.
const stopSlack = endpoint.MinStopPublish + stragglerTimeout + 25*time.Second

// stopPoll is how often stop looks at the daemon.
const stopPoll = 50 * time.Millisecond

func (c *stopCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	if !p.Exists() {
		return fmt.Errorf("no endpoint %s: %s does not exist", p.Name, p.Path(profile.ConfigFile))
	}
	unlock, err := p.LockCommand()
	if err != nil {
		return err
	}
	defer unlock()
	return e.stop(p, c.Timeout)
}

// stop stops a running endpoint and waits until its daemon is gone; one
// stop is enough. A daemon that outlives timeout (0: long enough for its
// grace period, see stopSlack) is killed and cleaned up after. A
// Disconnected endpoint is cleaned up; a stopped one needs nothing.
func (e *env) stop(p *profile.Profile, timeout time.Duration) error {
	if !p.Exists() {
		return fmt.Errorf("no endpoint %s: %s does not exist", p.Name, p.Path(profile.ConfigFile))
	}
	st, err := p.Status()
	if err != nil {
		return err
	}
	switch st.State {
	case profile.Initialized, profile.Stopped:
		fmt.Fprintf(e.sys.stdout, "Endpoint %s is not running.\n", p.Name)
		return nil
	case profile.Disconnected:
		return e.cleanup(p, e.configForCleanup(p))
	}
	grace := e.stopGrace(p)
	if timeout == 0 {
		timeout = 2*grace + stopSlack
	} else if least := grace + endpoint.MinStopPublish; timeout < least {
		fmt.Fprintf(e.sys.stderr, "Warning: --timeout %s is shorter than endpoint %s's stop grace period (%s, and %s for results): "+
			"tasks still running then are killed and run again at the next start.\n", timeout, p.Name, grace, endpoint.MinStopPublish)
	}
	fmt.Fprintf(e.sys.stderr, "Stopping endpoint %s (pid %d): no new tasks; tasks in flight get up to %s to finish and publish their results, then its blocks are cancelled...\n",
		p.Name, st.PID, grace)
	if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop endpoint %s: signal pid %d: %w", p.Name, st.PID, err)
	}
	deadline := time.Now().Add(timeout)
	progress := stopProgress{w: e.sys.stderr, p: p, grace: grace}
	for {
		st, err = p.Status()
		if err != nil {
			return err
		}
		if st.State != profile.Running {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(e.sys.stderr, "Endpoint %s did not stop within %s: killing pid %d and cleaning up.\n", p.Name, timeout, st.PID)
			_ = syscall.Kill(st.PID, syscall.SIGKILL)
			timeout, deadline = time.Minute, time.Now().Add(time.Minute)
			continue
		}
		progress.show()
		select {
		case <-e.ctx.Done():
			return fmt.Errorf("stop endpoint %s: still stopping in the background: %w", p.Name, e.ctx.Err())
		case <-time.After(stopPoll):
		}
	}
	// The lock is released as the daemon exits; wait for the exit itself.
	waitGone(st.PID, 10*time.Second)
	if st.State == profile.Disconnected {
		if err := e.cleanup(p, e.configForCleanup(p)); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.sys.stdout, "Endpoint %s stopped.\n", p.Name)
	return nil
}

// stopGrace is the running daemon's stop grace period, as it recorded
// it in run.json, else as the profile sets it.
func (e *env) stopGrace(p *profile.Profile) time.Duration {
	if r, ok, err := p.Run(); err == nil && ok && r.StopGrace > 0 {
		return r.StopGrace
	}
	if f, err := p.Load(); err == nil && f.StopGrace > 0 {
		return f.StopGrace
	}
	return endpoint.DefaultStopGrace
}

// stopProgress tells the user what a stopping daemon waits for, from
// what it records in run.json, each time that changes.
type stopProgress struct {
	w     io.Writer
	p     *profile.Profile
	grace time.Duration
	shown bool
	last  int // tasks in flight last shown
}

func (s *stopProgress) show() {
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
		fmt.Fprintln(s.w, "No task in flight: publishing results and cancelling blocks...")
		return
	}
	left := max(time.Until(r.Stopping.Since.Add(s.grace)).Round(time.Second), 0)
	fmt.Fprintf(s.w, "Waiting for %d %s in flight to finish (up to %s)...\n", n, plural(n, "task", "tasks"), left)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// configForCleanup is the profile's configuration for cancelling leftover
// blocks; a broken config.toml still lets local processes be cleaned up.
func (e *env) configForCleanup(p *profile.Profile) endpoint.Config {
	f, err := p.Load()
	if err != nil {
		fmt.Fprintf(e.sys.stderr, "funcx-endpoint: %v\n", err)
	}
	return f.Config
}

// waitGone waits until pid has exited (or is a zombie), at most timeout.
func waitGone(pid int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if st, ok := procfs.ReadStat(pid); !ok || !st.Live() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
