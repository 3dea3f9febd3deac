package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/python"
	"github.com/funcx-go/funcx/manager"
)

// targetPythonRatio and targetPythonP50 are the warm Python task targets
// (docs/architecture.md, Performance targets): the engine's rate against bare python3 driven over a pipe, and
// its one-task latency.
const (
	targetPythonRatio = 0.7
	targetPythonP50   = 1.0 // ms
)

// pythonNoop is the no-op Python function of the Python rows.
var pythonNoop = funcx.Python("def noop():\n    return None\n", "noop")

func pythonNoopTask() funcx.Task { return funcx.Task{Function: pythonNoop} }

// defaultPython is the interpreter of the Python rows: Debian's, which
// starts faster than a version manager's shim found first in PATH.
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return python.DefaultCommand
}

// directPythons are python3 interpreters running the workers' driver,
// driven straight over their pipes: the baseline of the Python rows, all
// a worker adds to it being the fabric.
type directPythons struct {
	ps []*python.Interpreter
}

// startDirectPythons starts n interpreters marked FUNCX_RUN_ID=runID.
func startDirectPythons(ctx context.Context, n int, command, runID string) (*directPythons, error) {
	d := &directPythons{}
	for range n {
		p, err := python.Start(ctx, python.Config{Command: command, Env: append(os.Environ(), manager.EnvRunID+"="+runID), Stderr: os.Stderr})
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("direct python: %w", err)
		}
		d.ps = append(d.ps, p)
	}
	return d, nil
}

func (d *directPythons) stop() {
	for _, p := range d.ps {
		p.Close(time.Second)
	}
}

// call runs the no-op once on p.
func callNoop(ctx context.Context, p *python.Interpreter) error {
	r, err := p.Call(ctx, &python.Call{Source: pythonNoop.Script, Entry: pythonNoop.Name})
	if err != nil {
		return err
	}
	if !r.OK || string(r.Value) != "null" {
		return fmt.Errorf("direct python: no-op answered %+v", r)
	}
	return nil
}

// throughput runs n no-op calls spread over the interpreters, each driven
// by its own goroutine, and returns calls/s.
func (d *directPythons) throughput(ctx context.Context, n int) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(d.ps))
	start := time.Now()
	for i, p := range d.ps {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := callNoop(ctx, p); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return rate(n, time.Since(start)), errors.Join(errs...)
}

// latencies times n no-op calls one at a time on the first interpreter.
func (d *directPythons) latencies(ctx context.Context, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := callNoop(ctx, d.ps[0]); err != nil {
			return out, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// pythonPhase: warm no-op Python tasks through an engine with o.Workers
// workers beside as many python3 driven directly over their pipes, in
// tasks/s and one at a time.
func (h *harness) pythonPhase(ctx context.Context) (err error) {
	o := h.o
	h.progress("python, %d workers, %s: starting", o.Workers, o.Python)
	eng, err := startEngineWith(ctx, o.Workers, o.Prefetch, o.Python, &h.rep.RunIDs)
	if err != nil {
		return fmt.Errorf("start engine with %d Python workers: %w", o.Workers, err)
	}
	defer func() { err = errors.Join(err, eng.stop()) }()
	directID := "bench-python-" + randomHex(8)
	h.rep.RunIDs = append(h.rep.RunIDs, directID)
	direct, err := startDirectPythons(ctx, o.Workers, o.Python, directID)
	if err != nil {
		return err
	}
	defer func() { direct.stop(); err = errors.Join(err, waitGone(directID, goneWithin)) }()
	// Warm-up: every worker's interpreter started, the function compiled.
	if _, err := eng.runTasks(ctx, 20*o.Workers, pythonNoopTask()); err != nil {
		return err
	}
	if _, err := direct.throughput(ctx, 20*o.Workers); err != nil {
		return err
	}

	h.progress("python: %d warm no-op Python tasks per round", o.Tasks)
	en := &measure{name: fmt.Sprintf("engine, %d workers", o.Workers), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		d, err := eng.runTasks(ctx, o.Tasks, pythonNoopTask())
		return rate(o.Tasks, d), err
	}}
	dp := &measure{name: fmt.Sprintf("python3 over a pipe, %d interpreters", o.Workers), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return direct.throughput(ctx, o.Tasks)
	}}
	if err := h.alternate(ctx, "python", en, dp); err != nil {
		return err
	}
	h.add(row{
		Key: "python-noop", Name: fmt.Sprintf("warm no-op Python tasks, engine, %d workers", o.Workers), Unit: "tasks/s",
		Value: median(en.got), Rounds: en.got,
		Baseline: dp.name, BaselineValue: median(dp.got), BaselineRounds: dp.got,
		Tasks: o.Tasks, Returned: o.Tasks * len(en.got), BaselineReturned: o.Tasks * len(dp.got),
		Target: &target{Of: "ratio", Op: ">=", Threshold: targetPythonRatio},
	})

	h.progress("python latency: %d one-task round trips per round", o.Pings)
	var engAll, dirAll []time.Duration
	enl := &measure{name: "engine, one Python task at a time", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := eng.latenciesOf(ctx, o.Pings, pythonNoopTask())
		engAll = append(engAll, ds...)
		return ms(percentile(ds, 50)), err
	}}
	dpl := &measure{name: "python3 over a pipe, one call at a time", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := direct.latencies(ctx, o.Pings)
		dirAll = append(dirAll, ds...)
		return ms(percentile(ds, 50)), err
	}}
	if err := h.alternate(ctx, "python latency p50", enl, dpl); err != nil {
		return err
	}
	for _, p := range []struct {
		key string
		pct float64
		tgt *target
	}{
		{"python-latency-p50", 50, &target{Of: "value", Op: "<=", Threshold: targetPythonP50}},
		{"python-latency-p99", 99, nil},
	} {
		h.add(row{
			Key: p.key, Name: fmt.Sprintf("warm Python task latency p%g, engine, %d workers", p.pct, o.Workers), Unit: "ms",
			Value: ms(percentile(engAll, p.pct)), Rounds: roundPercentiles(engAll, o.Pings, p.pct),
			Baseline: fmt.Sprintf("python3 over a pipe, p%g", p.pct), BaselineValue: ms(percentile(dirAll, p.pct)),
			BaselineRounds: roundPercentiles(dirAll, o.Pings, p.pct),
			Tasks:          o.Pings, Returned: len(engAll), BaselineReturned: len(dirAll),
			Target: p.tgt,
		})
	}
	return nil
}
