package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

type submitCmd struct {
	Endpoint string `required:"" short:"e" placeholder:"ID" help:"Endpoint to submit to."`
	Function string `required:"" short:"f" placeholder:"ID" help:"Registered function to run."`
	Args     string `xor:"args" placeholder:"JSON" help:"The task's arguments as JSON (an object for a shell function)."`
	ArgsFile string `name:"args-file" xor:"args" placeholder:"FILE" help:"Read the arguments' JSON from FILE ('-' for stdin)."`
	Count    int    `default:"1" help:"Submit this many tasks with the same arguments, in batches."`
}

// maxArgsFile caps --args-file, like the service caps a request.
const maxArgsFile = api.MaxRequestBytes

func (s *submitCmd) Run(e *env) error {
	if s.Count < 1 {
		return errors.New("--count must be at least 1")
	}
	args, err := s.args(e)
	if err != nil {
		return err
	}
	return e.withClient(func(c *client.Client) error { return s.submit(e, c, args) })
}

// submit sends Count tasks and prints their IDs.
func (s *submitCmd) submit(e *env, c *client.Client, args json.RawMessage) error {
	out := bufio.NewWriter(e.Sys.Stdout)
	defer out.Flush()
	// One request per api.MaxTasksPerSubmit tasks, with a progress line
	// for batches that take more than one.
	done := 0
	for done < s.Count {
		n := min(s.Count-done, api.MaxTasksPerSubmit)
		tasks := make([]api.TaskSubmit, n)
		for i := range tasks {
			tasks[i] = api.TaskSubmit{FunctionID: s.Function, Args: args}
		}
		ids, err := c.Submit(e.Ctx, s.Endpoint, tasks)
		for _, id := range ids {
			fmt.Fprintln(out, id)
		}
		done += len(ids)
		if err != nil {
			if done > 0 {
				fmt.Fprintf(e.Sys.Stderr, "funcx: %d of %d tasks were submitted before the error\n", done, s.Count)
			}
			return err
		}
		if s.Count > api.MaxTasksPerSubmit {
			fmt.Fprintf(e.Sys.Stderr, "submitted %d/%d tasks\n", done, s.Count)
		}
	}
	return nil
}

// args returns the arguments' JSON, checked, or nil for none.
func (s *submitCmd) args(e *env) (json.RawMessage, error) {
	raw := []byte(s.Args)
	if s.ArgsFile != "" {
		var r io.Reader = e.Sys.Stdin
		if s.ArgsFile != "-" {
			f, err := os.Open(s.ArgsFile)
			if err != nil {
				return nil, fmt.Errorf("read --args-file: %w", err)
			}
			defer f.Close()
			r = f
		}
		var err error
		if raw, err = io.ReadAll(io.LimitReader(r, maxArgsFile+1)); err != nil {
			return nil, fmt.Errorf("read --args-file: %w", err)
		}
		if len(raw) > maxArgsFile {
			return nil, fmt.Errorf("--args-file is over %d bytes", maxArgsFile)
		}
	}
	if len(raw) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("the arguments are not valid JSON (a shell function takes an object, like '{\"name\": \"world\"}')")
	}
	return raw, nil
}
