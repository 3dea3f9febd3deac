package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
)

type deleteCmd struct {
	Name  string `arg:"" predictor:"profile" help:"Profile name."`
	Yes   bool   `short:"y" help:"Do not ask for confirmation."`
	Force bool   `help:"Stop the endpoint if it runs, and remove the profile even if the service cannot be told."`
}

func (c *deleteCmd) Run(e *env) error {
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
	st, err := p.Status()
	if err != nil {
		return err
	}
	if st.State == profile.Running && !c.Force {
		return fmt.Errorf("endpoint %s is running (pid %d): stop it first with `funcx-endpoint stop %s`, or pass --force", p.Name, st.PID, p.Name)
	}
	if !c.Yes {
		if e.sys.term == nil {
			return fmt.Errorf("delete endpoint %s: confirm with --yes (stdin is not a terminal to ask on)", p.Name)
		}
		what := p.Dir()
		if st.EndpointID != "" {
			what += " and deregister endpoint " + st.EndpointID + " from the service"
		}
		answer, err := e.sys.term.Ask(e.ctx, fmt.Sprintf("Delete %s? This cannot be undone. [y/N]: ", what), false)
		if err != nil {
			return err
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(e.sys.stdout, "Not deleted.")
			return nil
		}
	}
	if st.State == profile.Running || st.State == profile.Disconnected {
		if err := e.stop(p, 0); err != nil {
			return err
		}
	}
	if st.EndpointID != "" {
		if err := e.deregister(p, st.EndpointID); err != nil {
			if !c.Force {
				return fmt.Errorf("%w; the profile is kept (pass --force to remove it anyway)", err)
			}
			fmt.Fprintf(e.sys.stderr, "funcx-endpoint: %v; removing the profile anyway (--force)\n", err)
		}
	}
	if err := os.RemoveAll(p.Dir()); err != nil {
		return fmt.Errorf("delete endpoint %s: %w", p.Name, err)
	}
	fmt.Fprintf(e.sys.stdout, "Deleted endpoint %s.\n", p.Name)
	return nil
}

// deregister deletes the endpoint from the service; one the service no
// longer knows counts as deleted.
func (e *env) deregister(p *profile.Profile, id string) error {
	f, err := p.Load()
	if err != nil {
		return err
	}
	creds, err := e.credentials(f.ServiceURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, verifyTimeout)
	defer cancel()
	err = e.withClient(creds, func(c *client.Client) error { return c.DeleteEndpoint(ctx, id) })
	if errors.Is(err, client.ErrNotFound) {
		fmt.Fprintf(e.sys.stderr, "Endpoint %s (%s) was not registered with %s (any more).\n", p.Name, id, creds.ServiceURL)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deregister endpoint %s: %w", p.Name, err)
	}
	return nil
}
