package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/cli"
)

type deleteCmd struct {
	Name  string `arg:"" predictor:"profile" help:"Profile name."`
	Yes   bool   `short:"y" help:"Do not ask for confirmation."`
	Force bool   `help:"Stop the endpoint if it runs, and remove the profile even if the service cannot be told."`
}

func (c *deleteCmd) Run(e *env) error {
	p, unlock, err := e.lockedProfile(c.Name, noProfile)
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
	if ok, err := c.confirm(e, p, st); !ok || err != nil {
		return err
	}
	if st.State == profile.Running || st.State == profile.Disconnected {
		if err := e.stop(p, 0); err != nil {
			return err
		}
	}
	if err := c.deregister(e, p, st.EndpointID); err != nil {
		return err
	}
	if err := os.RemoveAll(p.Dir()); err != nil {
		return fmt.Errorf("delete endpoint %s: %w", p.Name, err)
	}
	fmt.Fprintf(e.Sys.Stdout, "Deleted endpoint %s.\n", p.Name)
	return nil
}

// confirm asks the user unless --yes; it reports whether to go on.
func (c *deleteCmd) confirm(e *env, p *profile.Profile, st profile.Status) (bool, error) {
	if c.Yes {
		return true, nil
	}
	if e.Sys.Term == nil {
		return false, fmt.Errorf("delete endpoint %s: confirm with --yes (stdin is not a terminal to ask on)", p.Name)
	}
	what := p.Dir()
	if st.EndpointID != "" {
		what += " and deregister endpoint " + st.EndpointID + " from the service"
	}
	answer, err := e.Sys.Term.Ask(e.Ctx, fmt.Sprintf("Delete %s? This cannot be undone. [y/N]: ", what), false)
	if err != nil {
		return false, err
	}
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		fmt.Fprintln(e.Sys.Stdout, "Not deleted.")
		return false, nil
	}
	return true, nil
}

// deregister deletes the endpoint id (none: nothing to do) from the
// service; with --force a failure only warns.
func (c *deleteCmd) deregister(e *env, p *profile.Profile, id string) error {
	if id == "" {
		return nil
	}
	err := e.deregister(p, id)
	switch {
	case err == nil:
		return nil
	case !c.Force:
		return fmt.Errorf("%w; the profile is kept (pass --force to remove it anyway)", err)
	}
	fmt.Fprintf(e.Sys.Stderr, "funcx-endpoint: %v; removing the profile anyway (--force)\n", err)
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
	ctx, cancel := context.WithTimeout(e.Ctx, cli.VerifyTimeout)
	defer cancel()
	err = e.WithClient(creds, func(c *client.Client) error { return c.DeleteEndpoint(ctx, id) })
	if errors.Is(err, client.ErrNotFound) {
		fmt.Fprintf(e.Sys.Stderr, "Endpoint %s (%s) was not registered with %s (any more).\n", p.Name, id, creds.ServiceURL)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deregister endpoint %s: %w", p.Name, err)
	}
	return nil
}
