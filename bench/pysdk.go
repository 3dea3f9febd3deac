package main

import (
	"bytes"
	"context"
	_ "embed" // the Python SDK's round
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/funcx-go/funcx/client"
)

// pysdkScript times one round of no-op Python tasks through the Python
// SDK's Executor.
//
//go:embed pysdk.py
var pysdkScript []byte

// findPythonSDK finds the Python SDK (python/funcx_go) in the working
// directory or above it: the bench runs from the repository.
func findPythonSDK() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "python", "funcx_go", "__init__.py")); err == nil {
			return filepath.Join(dir, "python"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the Python SDK (python/funcx_go) is not in the working directory or above it: run the bench from the repository")
		}
		dir = parent
	}
}

// e2ePythonRounds measures no-op Python tasks end to end from the Python
// SDK beside the same from the Go SDK, in alternating rounds.
func (h *harness) e2ePythonRounds(ctx context.Context, f *e2eFabric) error {
	o := h.o
	sdk, err := findPythonSDK()
	if err != nil {
		return err
	}
	script := filepath.Join(f.dir, "pysdk.py")
	if err := os.WriteFile(script, pysdkScript, 0o644); err != nil {
		return err
	}
	fid, err := f.cl.RegisterFunction(ctx, client.FunctionRequest("noop", pythonNoop))
	if err != nil {
		return err
	}
	if _, err := f.throughputOf(ctx, fid, 50*f.workers); err != nil { // every worker's interpreter warm
		return fmt.Errorf("python warm-up: %w", err)
	}
	h.progress("end to end, Python: %d no-op Python tasks per round from the Python SDK (%s) and the Go SDK", o.E2ETasks, o.Python)
	py := &measure{name: "Python SDK Executor", unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return f.pythonSDKRound(ctx, o.Python, sdk, script, o.E2ETasks)
	}}
	gosdk := &measure{name: "Go SDK Executor, same function", unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return f.throughputOf(ctx, fid, o.E2ETasks)
	}}
	if err := h.alternate(ctx, "end to end, Python", py, gosdk); err != nil {
		return err
	}
	h.add(row{
		Key: "e2e-python-sdk", Name: fmt.Sprintf("no-op Python tasks end to end from the Python SDK, %d workers", o.Workers), Unit: "tasks/s",
		Value: median(py.got), Rounds: py.got,
		Baseline: gosdk.name, BaselineValue: median(gosdk.got), BaselineRounds: gosdk.got,
		Tasks: o.E2ETasks, Returned: o.E2ETasks * len(py.got), BaselineReturned: o.E2ETasks * len(gosdk.got),
	})
	return nil
}

// pythonSDKRound runs the script once and returns its rate; it fails
// unless every task came back.
func (f *e2eFabric) pythonSDKRound(ctx context.Context, python, sdk, script string, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, engineDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, f.endpointID, strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+sdk, "PYTHONDONTWRITEBYTECODE=1",
		client.EnvServiceURL+"="+f.url, client.EnvClientID+"="+f.id, client.EnvClientSecret+"="+f.secret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("python SDK round: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res struct {
		Rate     float64 `json:"rate"`
		Returned int     `json:"returned"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("python SDK round printed %q: %w", out, err)
	}
	if res.Returned != n {
		return 0, fmt.Errorf("python SDK round: %d of %d tasks returned", res.Returned, n)
	}
	return res.Rate, nil
}
