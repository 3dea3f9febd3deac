package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/manager"
)

const (
	// submitBatch is how many tasks go to Engine.Submit at once, as a
	// client's batched submissions or an AMQP prefetch would deliver them.
	submitBatch = 1000
	// engineDeadline bounds one measured engine run: past it the run is a
	// hang and an error, not a slow figure.
	engineDeadline = 3 * time.Minute
	// goneWithin is how long the processes of a stopped engine may take
	// to disappear.
	goneWithin = 10 * time.Second
)

// benchEngine is an Engine with one local block of a fixed number of
// workers, and the run ID its processes carry.
type benchEngine struct {
	*endpoint.Engine
	workers int
}

// startEngine starts an engine whose single block runs exactly `workers`
// workers, and returns once they all answer. runIDs records the engine's
// run so that the caller can prove its processes are gone after stop.
func startEngine(ctx context.Context, workers, prefetch int, runIDs *[]string) (*benchEngine, error) {
	return startEngineWith(ctx, workers, prefetch, "", runIDs)
}

// startEngineWith is startEngine with the workers' python_command.
func startEngineWith(ctx context.Context, workers, prefetch int, pythonCommand string, runIDs *[]string) (*benchEngine, error) {
	eng, err := endpoint.NewEngine(endpoint.Config{
		PythonCommand:     pythonCommand,
		MaxWorkersPerNode: workers,
		// The manager caps workers at cores/CoresPerWorker; a share of a
		// core each lets more workers than cores run, as the 4-worker
		// measurement on 2 cores needs.
		CoresPerWorker: min(1, float64(runtime.NumCPU())/float64(workers)),
		// Tasks queued in the manager hide the interchange round trip
		// between a result and the next task, and let the manager queue
		// some in each worker (manager.Config.WorkerQueue).
		PrefetchCapacity: prefetch,
		// MinBlocks keeps the block while the baseline rounds leave the
		// engine idle.
		Provider: endpoint.ProviderConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 1},
	})
	if err != nil {
		return nil, err
	}
	*runIDs = append(*runIDs, eng.RunID())
	e := &benchEngine{Engine: eng, workers: workers}
	if err := eng.Start(ctx); err != nil {
		return nil, errors.Join(err, e.stop())
	}
	if err := e.warmUp(ctx); err != nil {
		return nil, errors.Join(err, e.stop())
	}
	return e, nil
}

// warmUp waits for the manager to connect with all its workers, then runs
// a few tasks on each so that no measured round pays for process start-up.
func (e *benchEngine) warmUp(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ms := e.Status().Interchange.Managers
		if len(ms) == 1 && ms[0].Workers == e.workers {
			break
		}
		if len(ms) == 1 && ms[0].Workers != e.workers {
			return fmt.Errorf("engine: the manager runs %d workers, want %d", ms[0].Workers, e.workers)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("engine: no manager connected within a minute; status %+v", e.Status())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	_, err := e.runTasks(ctx, 20*e.workers, noopTask())
	return err
}

// runTasks submits n copies of proto (fresh IDs) in batches of
// submitBatch from a goroutine, as a feeding client would, collects every
// result, checks each task came back exactly once and succeeded, and
// returns the time from the first Submit to the last result.
func (e *benchEngine) runTasks(ctx context.Context, n int, proto funcx.Task) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, engineDeadline)
	defer cancel()
	tr := newTracker(n)
	tasks := make([]funcx.Task, n) // built before the clock starts
	for i := range tasks {
		tasks[i] = proto
	}
	tr.stamp(tasks, 0)

	submitErr := make(chan error, 1)
	start := time.Now()
	go func() {
		for i := 0; i < n; i += submitBatch {
			if err := e.Submit(tasks[i:min(i+submitBatch, n)]...); err != nil {
				submitErr <- err
				return
			}
		}
		submitErr <- nil
	}()
	err := func() error {
		for !tr.done() {
			select {
			case rs, ok := <-e.Results():
				if !ok {
					return errors.New("engine: results closed before every task returned")
				}
				for i := range rs {
					if err := tr.mark(rs[i].TaskID); err != nil {
						return err
					}
					if err := checkResult(&rs[i]); err != nil {
						return err
					}
				}
			case <-ctx.Done():
				return fmt.Errorf("engine: %w: %v; interchange %+v", ctx.Err(), tr.missing(), e.Status().Interchange.Counters)
			}
		}
		return nil
	}()
	elapsed := time.Since(start)
	// Submit never blocks, so the submitter has ended or soon will.
	if serr := <-submitErr; serr != nil && err == nil {
		err = fmt.Errorf("engine: submit: %w", serr)
	}
	if err != nil {
		return 0, err
	}
	return elapsed, nil
}

// latencies times n round trips of one no-op task each: submit, then wait
// for its result before the next.
func (e *benchEngine) latencies(ctx context.Context, n int) ([]time.Duration, error) {
	return e.latenciesOf(ctx, n, noopTask())
}

// latenciesOf is latencies with copies of t.
func (e *benchEngine) latenciesOf(ctx context.Context, n int, t funcx.Task) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, engineDeadline)
	defer cancel()
	out := make([]time.Duration, 0, n)
	for range n {
		t.ID = funcx.NewTaskID()
		start := time.Now()
		if err := e.Submit(t); err != nil {
			return nil, fmt.Errorf("engine: submit: %w", err)
		}
		select {
		case rs := <-e.Results():
			if len(rs) != 1 || rs[0].TaskID != t.ID {
				return nil, fmt.Errorf("engine: %d results for one task in flight", len(rs))
			}
			if err := checkResult(&rs[0]); err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("engine: one-task round trip: %w", ctx.Err())
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// stop stops the engine and proves that none of its manager or worker
// processes outlived it.
func (e *benchEngine) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := e.Stop(ctx)
	if err != nil {
		err = fmt.Errorf("engine stop: %w", err)
	}
	return errors.Join(err, waitGone(e.RunID(), goneWithin))
}

// waitGone waits until no process carries FUNCX_RUN_ID=runID.
func waitGone(runID string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		pids := proctest.WithEnv(manager.EnvRunID, runID)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of run %s still running %s after stop: %v", runID, within, pids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
