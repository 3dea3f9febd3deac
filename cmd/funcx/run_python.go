package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/cli"
)

// runPython runs `funcx run --python FILE.py:FUNC -- ARGS...`: the file is
// the function's source, FUNC its entry; the JSON result goes to stdout.
func (r *runCmd) runPython(e *env) error {
	if r.Stdin {
		return errors.New("--stdin is for commands: a --python function takes its input as arguments")
	}
	fn, err := pythonFile(r.Python)
	if err != nil {
		return err
	}
	fn.Timeout = r.Timeout
	return e.withClient(func(c *client.Client) error {
		req := client.FunctionRequest(filepath.Base(r.Python), fn)
		req.ContainerImage = r.Image
		fid, err := c.RegisterFunction(e.Ctx, req)
		if err != nil {
			return err
		}
		ex := c.Executor(r.Endpoint)
		defer ex.Close()
		return r.callPython(e, ex.Submit(fid, r.pythonArgs()))
	})
}

// pythonArgs are the call's arguments: those after --, and --kwarg.
func (r *runCmd) pythonArgs() funcx.PythonArgs {
	call := funcx.PythonArgs{Args: make([]any, len(r.Argv))}
	for i, a := range r.Argv {
		call.Args[i] = jsonOrString(a)
	}
	if len(r.Kwarg) > 0 {
		call.Kwargs = make(map[string]any, len(r.Kwarg))
		for k, v := range r.Kwarg {
			call.Kwargs[k] = jsonOrString(v)
		}
	}
	return call
}

// callPython waits for the Python task f and prints its JSON result.
func (r *runCmd) callPython(e *env, f *client.Future) error {
	// What the function printed goes to stderr, so that stdout holds
	// the JSON result alone (funcx run ... | jq).
	res, err := r.await(e, f, e.Sys.Stderr)
	var te *funcx.TaskError
	switch {
	case errors.As(err, &te):
		msg := fmt.Sprintf("task %s failed: %v", f.TaskID(), te)
		if te.Stack != "" {
			msg = strings.TrimRight(te.Stack, "\n") + "\n" + msg
		}
		return &cli.ExitStatus{Code: exitTaskFailed, Err: errors.New(msg)}
	case err != nil:
		return err
	}
	out := res.TaskResult.Output
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	_, err = fmt.Fprintf(e.Sys.Stdout, "%s\n", out)
	return err
}

// pythonFile reads the function FILE.py:FUNC names: the whole file is its
// source, FUNC its entry.
func pythonFile(spec string) (funcx.Function, error) {
	file, entry, ok := cutLast(spec, ":")
	if !ok || file == "" || entry == "" {
		return funcx.Function{}, fmt.Errorf("--python %q: give FILE.py:FUNC, the file and the function in it to call", spec)
	}
	source, err := os.ReadFile(file)
	if err != nil {
		return funcx.Function{}, fmt.Errorf("--python: %w", err)
	}
	fn := funcx.Python(string(source), entry)
	if err := fn.Validate(); err != nil {
		return fn, fmt.Errorf("--python %s: %w", spec, err)
	}
	return fn, nil
}

// jsonOrString is a command-line argument as a JSON value, or as the
// string itself when it is not JSON.
func jsonOrString(s string) any {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		return json.RawMessage(s)
	}
	return s
}

// cutLast splits s around the last sep, so that a path may hold sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
