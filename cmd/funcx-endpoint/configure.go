package main

import (
	"errors"
	"fmt"

	"github.com/funcx-go/funcx/endpoint/profile"
)

type configureCmd struct {
	Name string `arg:"" optional:"" default:"default" help:"Profile name (default: ${default})."`
}

func (c *configureCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	if err := p.Create(); err != nil {
		if errors.Is(err, profile.ErrExists) {
			return fmt.Errorf("endpoint %s is already configured in %s: edit it there, or pick another name", p.Name, p.Path(profile.ConfigFile))
		}
		return err
	}
	fmt.Fprintf(e.Sys.Stdout, "Created profile for endpoint %s at %s\n", p.Name, p.Dir())
	fmt.Fprintf(e.Sys.Stdout, "Edit %s to match this machine (every option is listed there), then start it with:\n\n    funcx-endpoint start %s\n", p.Path(profile.ConfigFile), p.Name)
	return nil
}
