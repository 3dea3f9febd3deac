package main

import (
	"fmt"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/daemon"
	"github.com/funcx-go/funcx/endpoint/profile"
)

type stopCmd struct {
	Name    string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Timeout time.Duration `help:"How long the daemon gets to finish tasks in flight, publish their results and cancel its blocks before it is killed (and cleaned up after) (default: twice the endpoint's stop_grace plus a minute: 2m)."`
}

func (c *stopCmd) Run(e *env) error {
	p, unlock, err := e.lockedProfile(c.Name, noProfile)
	if err != nil {
		return err
	}
	defer unlock()
	return e.stop(p, c.Timeout)
}

// stop stops the endpoint and waits until its daemon is gone (daemon.Stop),
// saying what it waits for and what it cleaned up.
func (e *env) stop(p *profile.Profile, timeout time.Duration) error {
	rep, err := daemon.Stop(e.Ctx, p, daemon.StopConfig{Timeout: timeout, Progress: e.stopProgress(p)})
	if err := e.reportCleanup(p, rep.Cleanup, err); err != nil {
		return err
	}
	switch {
	case rep.PID != 0:
		fmt.Fprintf(e.Sys.Stdout, "Endpoint %s stopped.\n", p.Name)
	case rep.Cleanup == nil:
		fmt.Fprintf(e.Sys.Stdout, "Endpoint %s is not running.\n", p.Name)
	}
	return nil
}

// stopProgress tells the user what a stop does and waits for.
func (e *env) stopProgress(p *profile.Profile) func(daemon.StopProgress) {
	w := e.Sys.Stderr
	return func(s daemon.StopProgress) {
		switch s.Event {
		case daemon.StopShortTimeout:
			fmt.Fprintf(w, "Warning: --timeout %s is shorter than endpoint %s's stop grace period (%s, and %s for results): "+
				"tasks still running then are killed and run again at the next start.\n", s.Timeout, p.Name, s.Grace, endpoint.MinStopPublish)
		case daemon.StopSignalled:
			fmt.Fprintf(w, "Stopping endpoint %s (pid %d): no new tasks; tasks in flight get up to %s to finish and publish their results, then its blocks are cancelled...\n",
				p.Name, s.PID, s.Grace)
		case daemon.StopWaiting:
			fmt.Fprintf(w, "Waiting for %d %s in flight to finish (up to %s)...\n", s.InFlight, plural(s.InFlight, "task", "tasks"), s.Left)
		case daemon.StopPublishing:
			fmt.Fprintln(w, "No task in flight: publishing results and cancelling blocks...")
		case daemon.StopKilling:
			fmt.Fprintf(w, "Endpoint %s did not stop within %s: killing pid %d and cleaning up.\n", p.Name, s.Timeout, s.PID)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
