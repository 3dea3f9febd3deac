package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

type registerFunctionCmd struct {
	Name        string            `required:"" placeholder:"NAME" help:"Name of the function."`
	Script      string            `xor:"body" placeholder:"SCRIPT" help:"Shell script, run with /bin/sh -c; {key} is replaced by the task's argument key."`
	Go          string            `name:"go" xor:"body" placeholder:"NAME" help:"Name of a Go function registered in the endpoint's worker (worker.Register)."`
	Python      string            `xor:"body" placeholder:"FILE.py:FUNC" help:"A Python function: FUNC of FILE.py, whose whole text is its source. Submit with --args '{\"args\": [...], \"kwargs\": {...}}'."`
	Timeout     time.Duration     `help:"Kill a run after this long (30s, 5m); 0 means no limit."`
	Image       string            `placeholder:"IMAGE" help:"Container image to run in."`
	Env         map[string]string `placeholder:"KEY=VALUE" help:"Environment variable for the command; repeatable."`
	Dir         string            `placeholder:"DIR" help:"Working directory of the command."`
	OutputLimit int               `name:"output-limit" placeholder:"BYTES" help:"Cap on captured stdout and stderr, each."`
	Argv        []string          `arg:"" optional:"" passthrough:"" name:"argv" help:"Command and arguments to execute directly (after --); {key} is replaced by the task's argument key."`
}

// Validate runs before any request: exactly one body.
func (r *registerFunctionCmd) Validate() error {
	r.Argv = commandArgs(r.Argv)
	n := 0
	for _, set := range []bool{r.Script != "", r.Go != "", r.Python != "", len(r.Argv) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("give exactly one of --script, --go, --python or -- ARGV")
	}
	if r.Timeout < 0 || r.OutputLimit < 0 {
		return errors.New("--timeout and --output-limit cannot be negative")
	}
	return nil
}

func (r *registerFunctionCmd) Run(e *env) error {
	req := api.RegisterFunctionRequest{
		Name: r.Name, Kind: "shell", Script: r.Script, Argv: r.Argv, Env: r.Env, Dir: r.Dir,
		OutputLimit: r.OutputLimit, ContainerImage: r.Image, Timeout: durationText(r.Timeout),
	}
	if r.Go != "" {
		req.Kind, req.GoName = "go", r.Go
	}
	if r.Python != "" {
		fn, err := pythonFile(r.Python)
		if err != nil {
			return err
		}
		req.Kind, req.Script, req.Source, req.Entry = "python", "", fn.Script, fn.Name
	}
	return e.withClient(func(c *client.Client) error {
		id, err := c.RegisterFunction(e.Ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Sys.Stdout, id)
		return nil
	})
}

// durationText renders a duration for the API, empty for none.
func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
