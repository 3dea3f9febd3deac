package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/version"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/service/api"
)

// cleanupTimeout bounds the clean-up after an unclean stop.
const cleanupTimeout = 2 * time.Minute

type startCmd struct {
	Name         string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Foreground   bool          `help:"Run in the foreground instead of as a daemon, logging to the console too, until Ctrl-C or SIGTERM."`
	StartTimeout time.Duration `name:"start-timeout" default:"60s" help:"Fail if the endpoint is not up within this (default: ${default})."`
}

func (c *startCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	if !p.Exists() {
		return fmt.Errorf("no endpoint %s: run `funcx-endpoint configure %s` first", p.Name, p.Name)
	}
	unlock, err := p.LockCommand()
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
func (e *env) prepareStart(p *profile.Profile) (handoff, error) {
	var h handoff
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
		if err := e.cleanup(p, file.Config); err != nil {
			return h, err
		}
	}
	creds, err := e.credentials(file.ServiceURL)
	if err != nil {
		return h, err
	}
	reg, registered, err := p.Registration()
	if err != nil {
		return h, err
	}
	ctx, cancel := context.WithTimeout(e.ctx, verifyTimeout)
	defer cancel()
	err = e.withClient(creds, func(c *client.Client) error {
		who, err := c.Whoami(ctx)
		if err != nil {
			return err
		}
		if registered && reg.OwnerID != "" && reg.OwnerID != who.ID {
			return notOwner(p, reg, who)
		}
		req := api.RegisterEndpointRequest{EndpointID: reg.EndpointID, Name: p.Name,
			DisplayName: cmp.Or(file.DisplayName, p.Name), Version: version.String("funcx-endpoint")}
		resp, err := c.RegisterEndpoint(ctx, req)
		if errors.Is(err, client.ErrForbidden) {
			return notOwner(p, reg, who)
		}
		if errors.Is(err, client.ErrGone) {
			return fmt.Errorf("endpoint %s (%s) was deleted from the service, and a deleted endpoint ID is never reused: "+
				"remove this profile (`funcx-endpoint delete %s`) and configure it again to register a new endpoint", p.Name, reg.EndpointID, p.Name)
		}
		if err != nil {
			return err
		}
		if !registered {
			reg = profile.Registration{EndpointID: resp.EndpointID, ServiceURL: creds.ServiceURL,
				OwnerID: who.ID, OwnerName: who.Name, RegisteredAt: time.Now().UTC()}
			if err := p.SaveRegistration(reg); err != nil {
				return err
			}
		}
		h = handoff{EndpointID: resp.EndpointID, Broker: resp.Broker}
		return nil
	})
	return h, err
}

// notOwner is the refusal of an endpoint registered by another identity.
func notOwner(p *profile.Profile, reg profile.Registration, who *api.Identity) error {
	owner := "another identity"
	if reg.OwnerName != "" {
		owner = fmt.Sprintf("%s (%s)", reg.OwnerName, reg.OwnerID)
	}
	return fmt.Errorf("endpoint %s (%s) belongs to %s, and you are %s (%s): only its owner may start it. "+
		"Log in as the owner (`funcx-endpoint login`, or %s and %s), or configure a new profile to register an endpoint of your own",
		p.Name, reg.EndpointID, owner, who.Name, who.ID, client.EnvClientID, client.EnvClientSecret)
}

// cleanup cleans up after an unclean stop and says what it did.
func (e *env) cleanup(p *profile.Profile, cfg endpoint.Config) error {
	ctx, cancel := context.WithTimeout(e.ctx, cleanupTimeout)
	defer cancel()
	rep, err := p.Cleanup(ctx, func(ctx context.Context, _ string, ids []string) error {
		jobs := make([]provider.JobID, len(ids))
		for i, id := range ids {
			jobs[i] = provider.JobID(id)
		}
		return endpoint.CancelLeftoverBlocks(ctx, cfg, jobs)
	})
	if err != nil {
		return err
	}
	// After its processes are stopped: the run's Docker containers, which
	// no manager is left to remove. run.json is gone by now, so a failure
	// is only reported; the next manager on this host sweeps them.
	removed, err := endpoint.RemoveLeftoverContainers(ctx, cfg, rep.RunID)
	if err != nil {
		fmt.Fprintf(e.sys.stderr, "funcx-endpoint: could not remove the containers of run %s, which the endpoint left when it died: %v; "+
			"remove them with: docker rm -f $(docker ps -aq --filter label=%s=%s)\n", rep.RunID, err, container.LabelRun, rep.RunID)
	}
	if rep.Stale {
		msg := fmt.Sprintf("Endpoint %s was not stopped cleanly: cleaned up", p.Name)
		if len(rep.Killed) > 0 {
			noun := "processes"
			if len(rep.Killed) == 1 {
				noun = "process"
			}
			msg += fmt.Sprintf(", stopped %d leftover %s of run %s", len(rep.Killed), noun, rep.RunID)
		}
		if removed > 0 {
			noun := "containers"
			if removed == 1 {
				noun = "container"
			}
			msg += fmt.Sprintf(", removed %d leftover %s of run %s", removed, noun, rep.RunID)
		}
		if len(rep.Cancelled) > 0 {
			msg += fmt.Sprintf(", cancelled blocks %s", strings.Join(rep.Cancelled, ", "))
		}
		fmt.Fprintln(e.sys.stderr, msg+".")
	}
	return nil
}

// runForeground serves in this process until a signal.
func (e *env) runForeground(p *profile.Profile, h handoff, startTimeout time.Duration) error {
	var once sync.Once
	report := func(err error) {
		if err == nil {
			once.Do(func() {
				fmt.Fprintf(e.sys.stdout, "Endpoint %s is up (pid %d, in the foreground; Ctrl-C stops it).\nEndpoint ID: %s\n", p.Name, os.Getpid(), h.EndpointID)
			})
		}
	}
	return e.serve(e.ctx, p, h, e.sys.stderr, startTimeout, report)
}
