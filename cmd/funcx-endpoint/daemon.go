package main

import (
	"fmt"
	"io"
	"time"

	"github.com/funcx-go/funcx/endpoint/daemon"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// daemonCmd is the background daemon that start launches (daemon.Spawn).
type daemonCmd struct {
	Name         string        `arg:"" help:"Profile name."`
	StartTimeout time.Duration `name:"start-timeout" default:"60s" help:"Give up if not up within this."`
}

// Run reads the registration from stdin, reports to start, and serves
// until SIGTERM or SIGINT.
func (c *daemonCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	return daemon.ServeChild(e.Ctx, e.Sys.Stdin, daemon.Config{Profile: p, StartTimeout: c.StartTimeout,
		LogLevel: e.logLevel(), Console: e.console()})
}

// console is where the daemon's log goes besides endpoint.log until it is
// up: stderr with --log-to-console, else nowhere.
func (e *env) console() io.Writer {
	if e.g.LogToConsole {
		return e.Sys.Stderr
	}
	return nil
}

// daemonize starts this program again as the profile's daemon and waits
// until it is up.
func (e *env) daemonize(p *profile.Profile, h daemon.Handoff, startTimeout time.Duration) error {
	exe, err := e.Sys.Executable()
	if err != nil {
		return fmt.Errorf("start the daemon: find this program: %w", err)
	}
	args := []string{"daemon", p.Name, "--start-timeout", startTimeout.String()}
	if e.g.Debug {
		args = append([]string{"--debug"}, args...)
	}
	if e.g.LogToConsole {
		args = append([]string{"--log-to-console"}, args...)
	}
	pid, err := daemon.Spawn(e.Ctx, daemon.SpawnConfig{Profile: p, Handoff: h, Path: exe, Args: args, Console: e.console()})
	if err != nil {
		return err
	}
	// Up: it is reparented when this process exits.
	fmt.Fprintf(e.Sys.Stdout, "Endpoint %s is up (pid %d); it logs to %s.\nEndpoint ID: %s\n", p.Name, pid, p.Path(profile.LogFile), h.EndpointID)
	return nil
}
