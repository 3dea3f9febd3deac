package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/funcx-go/funcx"
)

// Targets of docs/architecture.md, Performance targets.
const (
	targetDispatch   = 200_000 // tasks/s, zero-work managers
	targetNoop       = 10_000  // tasks/s, end to end
	targetLatencyP50 = 2.0     // ms, end to end
	targetLatencyP99 = 10.0    // ms, end to end
	targetShellRatio = 0.8     // engine / raw os/exec at the same parallelism
	targetE2ERatio   = 0.8     // end to end / raw RabbitMQ round trip
)

// rowOrder is the order of the table's rows, whatever order the phases
// measure them in.
var rowOrder = []string{"dispatch", "noop-a", "noop-b", "latency-p50", "latency-p99", "shell-captured", "shell-uncaptured", "shell-direct",
	"python-noop", "python-latency-p50", "python-latency-p99",
	"container-warm", "container-cold", "e2e-noop", "e2e-noop-ratio", "e2e-latency-p50", "e2e-latency-p99", "broker-hop-p50", "e2e-python-sdk", "hostile-rss", "retention-size"}

// harness runs the phases and collects their rows.
type harness struct {
	o   options
	log io.Writer
	rep *report
}

// run measures everything, stopping every engine and process it started
// before it returns, and returns the report (with the rows measured so
// far when it fails).
func run(ctx context.Context, o options, log io.Writer) (*report, error) {
	h := &harness{o: o, log: log, rep: newReport(o)}
	start := time.Now()
	var err error
	if o.runs("dispatch") {
		err = h.dispatchPhase(ctx)
	}
	if err == nil && o.runs("engine") {
		err = h.enginePhase(ctx, o.Workers, "noop-a", true)
	}
	if err == nil && o.runs("engine") {
		err = h.enginePhase(ctx, 2*o.Workers, "noop-b", false)
	}
	if err == nil && o.runs("python") {
		err = h.pythonPhase(ctx)
	}
	if err == nil && o.runs("e2e") {
		err = h.e2ePhase(ctx)
	}
	// Only on request: it takes about 1 GB for a moment, which a run of
	// timings should not share the machine with.
	if err == nil && o.picks("hostile") {
		err = h.hostilePhase(ctx)
	}
	// Only on request: a million tasks through the store is a soak, not
	// a figure of the fabric's speed.
	if err == nil && o.picks("retention") {
		err = h.retentionPhase(ctx)
	}
	// Containers last: the end-to-end latencies measured after this phase
	// were about 10% higher, every stage alike (dockerd and the disk are
	// still busy with the containers it started and removed).
	if err == nil && o.Containers && o.runs("containers") {
		err = h.containerPhase(ctx)
	}
	if err == nil && o.picks("faults") {
		err = h.faultsPhase(ctx)
	}
	h.rep.Seconds = time.Since(start).Seconds()
	slices.SortStableFunc(h.rep.Rows, func(a, b row) int {
		return slices.Index(rowOrder, a.Key) - slices.Index(rowOrder, b.Key)
	})
	return h.rep, err
}

func (h *harness) progress(format string, args ...any) {
	fmt.Fprintf(h.log, "bench: "+format+"\n", args...)
}

// measure is one side of an alternated comparison.
type measure struct {
	name string
	unit string
	run  func(ctx context.Context) (float64, error)
	// got collects each round's figure.
	got []float64
}

// alternate runs each measure once per round, rotating which goes first,
// so that every side sees the machine's load drift (other tenants, CPU
// frequency, the collector) about equally.
func (h *harness) alternate(ctx context.Context, phase string, ms ...*measure) error {
	for round := range h.o.Rounds {
		for i := range ms {
			m := ms[(round+i)%len(ms)]
			v, err := m.run(ctx)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", phase, m.name, err)
			}
			m.got = append(m.got, v)
			h.progress("%s round %d/%d: %-38s %s", phase, round+1, h.o.Rounds, m.name, format(v, m.unit))
		}
	}
	return nil
}

func (h *harness) add(r row) {
	r.finish()
	h.rep.Rows = append(h.rep.Rows, r)
}

// dispatchPhase: the interchange with zero-work fake managers against raw
// framed TCP echo.
func (h *harness) dispatchPhase(ctx context.Context) error {
	o := h.o
	h.progress("dispatch: %d tasks per round through the interchange to %d fake managers, and raw TCP echo", o.DispatchTasks, o.Managers)
	ix := &measure{name: fmt.Sprintf("interchange dispatch, %d fake managers", o.Managers), unit: "tasks/s",
		run: func(ctx context.Context) (float64, error) { return dispatchRound(ctx, o.Managers, o.DispatchTasks) }}
	raw := &measure{name: fmt.Sprintf("raw TCP framed echo, %d conns", o.Managers), unit: "tasks/s",
		run: func(ctx context.Context) (float64, error) { return rawEchoRound(ctx, o.Managers, o.DispatchTasks) }}
	if err := h.alternate(ctx, "dispatch", ix, raw); err != nil {
		return err
	}
	h.add(row{
		Key: "dispatch", Name: ix.name, Unit: "tasks/s",
		Value: median(ix.got), Rounds: ix.got,
		Baseline: raw.name, BaselineValue: median(raw.got), BaselineRounds: raw.got,
		Tasks: o.DispatchTasks, Returned: o.DispatchTasks * len(ix.got), BaselineReturned: o.DispatchTasks * len(raw.got),
		Target: &target{Of: "value", Op: ">=", Threshold: targetDispatch},
	})
	return nil
}

// enginePhase runs an engine with `workers` workers beside as many direct
// worker processes: no-op throughput and, when full, one-task latency and
// shell tasks against raw os/exec.
func (h *harness) enginePhase(ctx context.Context, workers int, noopKey string, full bool) (err error) {
	o := h.o
	h.progress("engine, %d workers, prefetch_capacity %d: starting", workers, o.Prefetch)
	eng, err := startEngine(ctx, workers, o.Prefetch, &h.rep.RunIDs)
	if err != nil {
		return fmt.Errorf("start engine with %d workers: %w", workers, err)
	}
	defer func() { err = errors.Join(err, eng.stop()) }()
	directID := "bench-direct-" + randomHex(8)
	h.rep.RunIDs = append(h.rep.RunIDs, directID)
	direct, err := startDirectWorkers(workers, directID)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, direct.stop(), waitGone(directID, goneWithin)) }()
	if _, err := direct.throughput(ctx, 20*workers, noopTask()); err != nil { // warm-up, as the engine's
		return err
	}

	h.progress("engine, %d workers: %d no-op tasks per round, batches of %d", workers, o.Tasks, submitBatch)
	en := &measure{name: fmt.Sprintf("engine, %d workers", workers), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		d, err := eng.runTasks(ctx, o.Tasks, noopTask())
		return rate(o.Tasks, d), err
	}}
	dw := &measure{name: fmt.Sprintf("direct workers, %d", workers), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return direct.throughput(ctx, o.Tasks, noopTask())
	}}
	if err := h.alternate(ctx, "no-op", en, dw); err != nil {
		return err
	}
	h.add(row{
		Key: noopKey, Name: fmt.Sprintf("no-op Go tasks, engine, %d workers", workers), Unit: "tasks/s",
		Value: median(en.got), Rounds: en.got,
		Baseline: dw.name, BaselineValue: median(dw.got), BaselineRounds: dw.got,
		Tasks: o.Tasks, Returned: o.Tasks * len(en.got), BaselineReturned: o.Tasks * len(dw.got),
		Target: &target{Of: "value", Op: ">=", Threshold: targetNoop, EndToEnd: true},
	})
	if !full {
		return nil
	}
	if err := h.latencyRounds(ctx, eng, direct); err != nil {
		return err
	}
	return h.shellRounds(ctx, eng, direct)
}

// latencyRounds times one task at a time through the engine and through
// one direct worker. Samples of every round are pooled for the
// percentiles: 3,000 samples give a steadier p99 than a median of three
// p99s of 1,000.
func (h *harness) latencyRounds(ctx context.Context, eng *benchEngine, direct *directWorkers) error {
	o := h.o
	h.progress("latency: %d one-task round trips per round", o.Pings)
	var engAll, dirAll []time.Duration
	en := &measure{name: "engine, one task at a time", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := eng.latencies(ctx, o.Pings)
		engAll = append(engAll, ds...)
		return ms(percentile(ds, 50)), err
	}}
	dw := &measure{name: "direct worker, one task at a time", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := direct.latencies(ctx, o.Pings)
		dirAll = append(dirAll, ds...)
		return ms(percentile(ds, 50)), err
	}}
	if err := h.alternate(ctx, "latency p50", en, dw); err != nil {
		return err
	}
	h.latencyRows("latency-", fmt.Sprintf("one-task latency p%%g, engine, %d workers", eng.workers), "direct worker, p%g",
		engAll, dirAll, true)
	return nil
}

// roundPercentiles splits pooled samples back into rounds of n and
// returns each round's percentile.
func roundPercentiles(all []time.Duration, n int, pct float64) []float64 {
	var out []float64
	for chunk := range slices.Chunk(all, n) {
		out = append(out, ms(percentile(chunk, pct)))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shellRounds runs `true` as shell tasks through the engine against
// os/exec from as many goroutines as the engine has workers, with and
// without capturing output. The same tasks sent straight to the direct
// workers split the engine's overhead between the worker process and
// the fabric in front of it.
func (h *harness) shellRounds(ctx context.Context, eng *benchEngine, direct *directWorkers) error {
	o, p := h.o, eng.workers
	shellTask := funcx.Task{Function: funcx.Command(shellCommand)}
	h.progress("shell: %d runs of %q per round at parallelism %d", o.ShellTasks, shellCommand, p)
	// Warm-up: the binary in the page cache, the workers' first fork.
	if _, err := rawExecRound(ctx, p, 10*p, true); err != nil {
		return err
	}
	if _, err := engineShellRound(ctx, eng, 10*p); err != nil {
		return err
	}
	en := &measure{name: fmt.Sprintf("engine, %d workers", p), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return engineShellRound(ctx, eng, o.ShellTasks)
	}}
	capt := &measure{name: fmt.Sprintf("raw os/exec, output captured, P=%d", p), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return rawExecRound(ctx, p, o.ShellTasks, true)
	}}
	bare := &measure{name: fmt.Sprintf("raw os/exec, output not captured, P=%d", p), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return rawExecRound(ctx, p, o.ShellTasks, false)
	}}
	dw := &measure{name: fmt.Sprintf("direct workers, %d", p), unit: "tasks/s", run: func(ctx context.Context) (float64, error) {
		return direct.throughput(ctx, o.ShellTasks, shellTask)
	}}
	if err := h.alternate(ctx, "shell", en, capt, bare, dw); err != nil {
		return err
	}
	engineRow := func(key string, b *measure, tgt *target) row {
		return row{
			Key: key, Name: fmt.Sprintf("shell %q tasks, engine, %d workers", shellCommand, p), Unit: "tasks/s",
			Value: median(en.got), Rounds: en.got,
			Baseline: b.name, BaselineValue: median(b.got), BaselineRounds: b.got,
			Tasks: o.ShellTasks, Returned: o.ShellTasks * len(en.got), BaselineReturned: o.ShellTasks * len(b.got),
			Target: tgt,
		}
	}
	h.add(engineRow("shell-captured", capt, &target{Of: "ratio", Op: ">=", Threshold: targetShellRatio}))
	h.add(engineRow("shell-uncaptured", bare, nil))
	h.add(row{
		Key: "shell-direct", Name: fmt.Sprintf("shell %q tasks, %s", shellCommand, dw.name), Unit: "tasks/s",
		Value: median(dw.got), Rounds: dw.got,
		Baseline: capt.name, BaselineValue: median(capt.got), BaselineRounds: capt.got,
		Tasks: o.ShellTasks, Returned: o.ShellTasks * len(dw.got), BaselineReturned: o.ShellTasks * len(capt.got),
	})
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// latencyRows adds the p50 and p99 rows of one-task latencies (got)
// beside a baseline's (base), both pooled over rounds of o.Pings. The
// names hold one %g for the percentile; keys are keyPrefix+"p50" and
// keyPrefix+"p99".
func (h *harness) latencyRows(keyPrefix, name, baseline string, got, base []time.Duration, endToEnd bool) {
	for _, p := range []struct {
		key string
		pct float64
		max float64
	}{{keyPrefix + "p50", 50, targetLatencyP50}, {keyPrefix + "p99", 99, targetLatencyP99}} {
		h.add(row{
			Key: p.key, Name: fmt.Sprintf(name, p.pct), Unit: "ms",
			Value: ms(percentile(got, p.pct)), Rounds: roundPercentiles(got, h.o.Pings, p.pct),
			Baseline: fmt.Sprintf(baseline, p.pct), BaselineValue: ms(percentile(base, p.pct)),
			BaselineRounds: roundPercentiles(base, h.o.Pings, p.pct),
			Tasks:          h.o.Pings, Returned: len(got), BaselineReturned: len(base),
			Target: &target{Of: "value", Op: "<=", Threshold: p.max, EndToEnd: endToEnd},
		})
	}
}
