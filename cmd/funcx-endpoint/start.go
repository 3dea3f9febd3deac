package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/daemon"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/cli"
	"github.com/funcx-go/funcx/internal/version"
)

type startCmd struct {
	Name         string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Foreground   bool          `help:"Run in the foreground instead of as a daemon, logging to the console too, until Ctrl-C or SIGTERM."`
	StartTimeout time.Duration `name:"start-timeout" default:"60s" help:"Fail if the endpoint is not up within this (default: ${default})."`
}

func (c *startCmd) Run(e *env) error {
	p, unlock, err := e.lockedProfile(c.Name, configureFirst)
	if err != nil {
		return err
	}
	defer unlock()
	h, err := e.prepareStart(p)
	if err != nil {
		return err
	}
	if c.Foreground {
		return e.runForeground(p, h, c.StartTimeout)
	}
	return e.daemonize(p, h, c.StartTimeout)
}

// prepareStart does everything before the endpoint runs: it loads and
// checks config.toml, cleans up after an unclean stop, authenticates and
// registers (reusing the ID in endpoint.json). Every failure is returned
// to the user before anything starts.
func (e *env) prepareStart(p *profile.Profile) (h daemon.Handoff, err error) {
	file, err := p.Load()
	if err != nil {
		return h, err
	}
	st, err := p.Status()
	if err != nil {
		return h, err
	}
	switch st.State {
	case profile.Running:
		return h, &profile.RunningError{Name: p.Name, PID: st.PID}
	case profile.Disconnected:
		rep, err := daemon.Cleanup(e.Ctx, p, file.Config)
		if err := e.reportCleanup(p, &rep, err); err != nil {
			return h, err
		}
	}
	creds, err := e.credentials(file.ServiceURL)
	if err != nil {
		return h, err
	}
	brokerCA, err := daemon.BrokerCAFile(p, file, creds.CAFile)
	if err != nil {
		return h, err
	}
	ctx, cancel := context.WithTimeout(e.Ctx, cli.VerifyTimeout)
	defer cancel()
	err = e.WithClient(creds, func(c *client.Client) (err error) {
		h, err = daemon.Register(ctx, c, p, daemon.RegisterConfig{ServiceURL: creds.ServiceURL, DisplayName: file.DisplayName,
			Version: version.String(name)})
		return err
	})
	h.BrokerCAFile = brokerCA
	return h, registerError(p, err)
}

// registerError says what to do about a refused registration.
func registerError(p *profile.Profile, err error) error {
	var notOwner *daemon.NotOwnerError
	var deleted *daemon.DeletedError
	switch {
	case errors.As(err, &notOwner):
		return fmt.Errorf("%w. Log in as the owner (`funcx-endpoint login`, or %s and %s), or configure a new profile to register an endpoint of your own",
			err, client.EnvClientID, client.EnvClientSecret)
	case errors.As(err, &deleted):
		return fmt.Errorf("%w: remove this profile (`funcx-endpoint delete %s`) and configure it again to register a new endpoint", err, p.Name)
	}
	return err
}

// runForeground serves in this process until a signal.
func (e *env) runForeground(p *profile.Profile, h daemon.Handoff, startTimeout time.Duration) error {
	return daemon.Serve(e.Ctx, daemon.Config{Profile: p, Handoff: h, StartTimeout: startTimeout, LogLevel: e.logLevel(),
		Console: e.Sys.Stderr, Ready: func(err error) {
			if err == nil {
				fmt.Fprintf(e.Sys.Stdout, "Endpoint %s is up (pid %d, in the foreground; Ctrl-C stops it).\nEndpoint ID: %s\n", p.Name, os.Getpid(), h.EndpointID)
			}
		}})
}
