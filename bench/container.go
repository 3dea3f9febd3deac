package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
)

// Targets of the container rows (docs/architecture.md, Performance
// targets).
const (
	targetWarmRatio = 2.0 // warm container task latency / raw task latency
	targetColdRatio = 1.5 // cold start task latency / bare `docker run`
)

// The container phase: one engine in worker_mode docker with soft routing
// and one slot per type, its containers built FROM scratch around a static
// worker binary (examples/custom-worker built with CGO_ENABLED=0).
//
//   - container-warm: one no-op task at a time in a warm container against
//     a raw (plain process) task of the same engine.
//   - container-cold: a task whose container must start (the engine's one
//     slot alternates between two images, so every task evicts and
//     cold-starts) against a bare `docker run --rm` of the same image
//     running the same binary.
var benchImages = []string{"funcx-bench-a", "funcx-bench-b"}

type containerBench struct {
	dir, bin string
}

// prepareContainers builds the static worker and the images.
func prepareContainers(ctx context.Context) (*containerBench, error) {
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker does not answer (%v: %s): run scripts/start-services.sh, or pass -containers=false", err, bytes.TrimSpace(out))
	}
	dir, err := os.MkdirTemp("", "funcx-bench-containers-")
	if err != nil {
		return nil, err
	}
	cb := &containerBench{dir: dir, bin: filepath.Join(dir, "funcx-worker")}
	build := exec.CommandContext(ctx, "go", "build", "-o", cb.bin, "github.com/funcx-go/funcx/examples/custom-worker")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		cb.remove()
		return nil, fmt.Errorf("build the static worker: %v: %s", err, out)
	}
	for _, tag := range benchImages {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nLABEL org.funcx.bench="+tag+"\n"), 0o644); err != nil {
			cb.remove()
			return nil, err
		}
		cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, "-f", filepath.Join(dir, "Dockerfile"), dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cb.remove()
			return nil, fmt.Errorf("docker build %s: %v: %s", tag, err, out)
		}
	}
	return cb, nil
}

func (cb *containerBench) remove() { os.RemoveAll(cb.dir) }

// bareRun is the baseline of a cold start: `docker run --rm` of the image
// running the worker binary (which prints its usage and exits).
func (cb *containerBench) bareRun(ctx context.Context, image string) (time.Duration, error) {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "-v", cb.bin+":"+cb.bin+":ro", image, cb.bin)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) { // the usage exit status is expected
		return 0, fmt.Errorf("docker run %s: %v: %s", image, err, out)
	}
	return time.Since(start), nil
}

// oneTask runs one no-op task in image and returns its round trip.
func oneTask(ctx context.Context, eng *endpoint.Engine, image string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, engineDeadline)
	defer cancel()
	t := noopTask()
	t.ID, t.Container = funcx.NewTaskID(), image
	start := time.Now()
	if err := eng.Submit(t); err != nil {
		return 0, err
	}
	select {
	case rs := <-eng.Results():
		if len(rs) != 1 || rs[0].TaskID != t.ID {
			return 0, fmt.Errorf("engine: %d results for one task in flight", len(rs))
		}
		if err := checkResult(&rs[0]); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("engine: task in %s: %w", funcx.ContainerDisplayName(image), ctx.Err())
	}
}

func (h *harness) containerPhase(ctx context.Context) (err error) {
	o := h.o
	h.progress("containers: building a static worker and images FROM scratch")
	cb, err := prepareContainers(ctx)
	if err != nil {
		return fmt.Errorf("containers: %w", err)
	}
	defer cb.remove()
	eng, err := h.startContainerEngine(ctx, cb, 2) // one raw worker and one container
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, (&benchEngine{Engine: eng}).stop()) }()

	pings := max(20, o.Pings/5)
	warmImage := benchImages[0]
	for _, img := range []string{"", warmImage} { // start both workers
		if _, err := oneTask(ctx, eng, img); err != nil {
			return err
		}
	}
	h.progress("containers: %d one-task round trips per round, warm container and raw", pings)
	latency := func(image string) func(ctx context.Context) (float64, error) {
		return func(ctx context.Context) (float64, error) {
			ds := make([]time.Duration, 0, pings)
			for range pings {
				d, err := oneTask(ctx, eng, image)
				if err != nil {
					return 0, err
				}
				ds = append(ds, d)
			}
			return ms(percentile(ds, 50)), nil
		}
	}
	warm := &measure{name: "warm container task, p50", unit: "ms", run: latency(warmImage)}
	raw := &measure{name: "raw task (plain worker), p50", unit: "ms", run: latency("")}
	if err := h.alternate(ctx, "warm container", warm, raw); err != nil {
		return err
	}
	h.add(row{
		Key: "container-warm", Name: "one no-op task in a warm docker container", Unit: "ms",
		Value: median(warm.got), Rounds: warm.got, Baseline: raw.name, BaselineValue: median(raw.got), BaselineRounds: raw.got,
		Tasks: pings, Returned: pings * len(warm.got), BaselineReturned: pings * len(raw.got),
		Target: &target{Of: "ratio", Op: "<=", Threshold: targetWarmRatio},
	})

	// Cold starts: an engine with one slot, where alternating images
	// evict and start a container per task.
	one, err := h.startContainerEngine(ctx, cb, 1)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, (&benchEngine{Engine: one}).stop()) }()
	colds := 3
	next := 0
	cold := &measure{name: "cold start: task in a new container", unit: "ms", run: func(ctx context.Context) (float64, error) {
		var ds []time.Duration
		for range colds {
			d, err := oneTask(ctx, one, benchImages[next%2])
			next++
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		return ms(percentile(ds, 50)), nil
	}}
	bare := &measure{name: "bare docker run --rm of the image", unit: "ms", run: func(ctx context.Context) (float64, error) {
		var ds []time.Duration
		for i := range colds {
			d, err := cb.bareRun(ctx, benchImages[i%2])
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		return ms(percentile(ds, 50)), nil
	}}
	h.progress("containers: %d cold starts per round against as many bare docker runs", colds)
	if err := h.alternate(ctx, "cold start", cold, bare); err != nil {
		return err
	}
	st := one.Status().Interchange.Routing
	h.progress("containers: one-slot engine: %d warm hits, %d cold starts, %d switches", st.WarmHits, st.ColdStarts, st.Switches)
	h.add(row{
		Key: "container-cold", Name: "one no-op task needing a container cold start", Unit: "ms",
		Value: median(cold.got), Rounds: cold.got, Baseline: bare.name, BaselineValue: median(bare.got), BaselineRounds: bare.got,
		Tasks: colds, Returned: colds * len(cold.got), BaselineReturned: colds * len(bare.got),
		Target: &target{Of: "ratio", Op: "<=", Threshold: targetColdRatio},
	})
	return nil
}

// startContainerEngine starts an engine in worker_mode docker, soft
// routing, with one block of `workers` slots.
func (h *harness) startContainerEngine(ctx context.Context, cb *containerBench, workers int) (*endpoint.Engine, error) {
	eng, err := endpoint.NewEngine(endpoint.Config{
		WorkerMode:        endpoint.WorkerModeDocker,
		ContainerRouting:  endpoint.RoutingSoft,
		MaxWorkersPerNode: workers,
		CoresPerWorker:    0.5,
		WorkerCommand:     []string{cb.bin},
		Container:         endpoint.ContainerConfig{WorkerBinary: cb.bin, WorkerMaxIdleTime: time.Hour},
		Provider:          endpoint.ProviderConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 1},
	})
	if err != nil {
		return nil, err
	}
	h.rep.RunIDs = append(h.rep.RunIDs, eng.RunID())
	if err := eng.Start(ctx); err != nil {
		return nil, errors.Join(err, (&benchEngine{Engine: eng}).stop())
	}
	return eng, nil
}
