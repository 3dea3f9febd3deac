package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
	"github.com/funcx-go/funcx/worker"
)

// e2eFabric is the whole fabric in this process, linked through the real
// RabbitMQ: the service's HTTP API on loopback (SQLite in a temporary
// directory), endpoint.Run with its journal and a local block of
// `workers` workers, and an SDK client logged in over HTTP.
type e2eFabric struct {
	url    string
	dir    string
	cl     *client.Client
	ex     *client.Executor
	noop   string // the no-op function's ID
	python string // the endpoint's python_command
	// id and secret are the client identity's credentials, for the
	// Python SDK's rows.
	id, secret string
	endpointID string
	workers    int
	prefetch   int            // the endpoint's prefetch_capacity
	stops      []func() error // in reverse order of start
}

// startE2E starts the fabric against the RabbitMQ at amqpURL and warms
// it up. It fails, saying what to do, if RabbitMQ does not answer.
func startE2E(ctx context.Context, amqpURL string, workers, prefetch int, python string) (f *e2eFabric, err error) {
	f = &e2eFabric{workers: workers, prefetch: prefetch, python: python}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.stop())
		}
	}()
	if f.dir, err = os.MkdirTemp("", "funcx-bench-e2e-"); err != nil {
		return f, err
	}
	f.stops = append(f.stops, func() error { return os.RemoveAll(f.dir) })

	// The service, the endpoint and the SDK share this process: each
	// runs under its pprof label (see component), so that -cpuprofile
	// tells their costs apart.
	restore := component(ctx, componentService)
	defer func() { restore() }()
	brk, err := rabbitmq.New(rabbitmq.Config{URL: amqpURL})
	if err != nil {
		return f, err
	}
	f.stops = append(f.stops, brk.Close)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = brk.Ping(pctx)
	cancel()
	if err != nil {
		return f, fmt.Errorf("RabbitMQ is not reachable at %s: %w\n"+
			"Run scripts/start-services.sh (as root) to install and start it, or pass -amqp-url", redactURL(amqpURL), err)
	}
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(f.dir, "service.db")})
	if err != nil {
		return f, err
	}
	f.stops = append(f.stops, st.Close)
	svc, err := service.New(service.Config{Store: st, Broker: brk})
	if err != nil {
		return f, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return f, err
	}
	f.url = "http://" + ln.Addr().String()
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- svc.Serve(serveCtx, ln) }()
	f.stops = append(f.stops, func() error { stopServing(); return <-served })

	if f.id, f.secret, err = svc.AddIdentity(ctx, "bench"); err != nil {
		return f, err
	}
	restore()
	restore = component(ctx, componentSDK)
	if f.cl, err = client.New(client.Config{ServiceURL: f.url, ClientID: f.id, ClientSecret: f.secret}); err != nil {
		return f, err
	}
	f.stops = append(f.stops, f.cl.Close)
	reg, err := f.cl.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: "bench"})
	if err != nil {
		return f, err
	}
	f.endpointID = reg.EndpointID
	// Deleting the endpoint removes its RabbitMQ queues and user.
	f.stops = append(f.stops, func() error { return f.cl.DeleteEndpoint(context.Background(), reg.EndpointID) })
	restore()
	restore = component(ctx, componentEndpoint)
	err = f.runEndpoint(ctx, broker.Credentials(reg.Broker))
	restore()
	restore = component(ctx, componentSDK)
	if err != nil {
		return f, err
	}
	if f.noop, err = f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "noop", Kind: "go", GoName: worker.NameNoop}); err != nil {
		return f, err
	}
	f.ex = f.cl.Executor(f.endpointID)
	f.stops = append(f.stops, f.ex.Close)
	// Warm-up: the workers' first tasks, the HTTP connections, the
	// statements the store prepares.
	if _, err := f.throughput(ctx, 50*workers); err != nil {
		return f, fmt.Errorf("warm-up: %w", err)
	}
	return f, nil
}

// The pprof label "component" of the fabric's parts in this process.
// Goroutines inherit the label of the goroutine that starts them, so the
// HTTP server's, the broker connections' and the SDK's goroutines carry
// their part's; `go tool pprof -tagfocus component=service` shows one
// part. Managers and workers are processes of their own: set
// FUNCX_CPUPROFILE_DIR (internal/cpuprofile) to profile them.
const (
	componentService  = "service"
	componentEndpoint = "endpoint"
	componentSDK      = "sdk"
)

// component labels the calling goroutine, and those it starts from now
// on, as the fabric's part name until restore is called.
func component(ctx context.Context, name string) (restore func()) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("component", name)))
	return func() { pprof.SetGoroutineLabels(ctx) }
}

// runEndpoint starts endpoint.Run and waits until it is linked.
func (f *e2eFabric) runEndpoint(ctx context.Context, creds broker.Credentials) error {
	runCtx, stopEndpoint := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	ran := make(chan error, 1)
	go func() {
		ran <- endpoint.Run(runCtx, endpoint.RunConfig{
			Config: endpoint.Config{
				MaxWorkersPerNode: f.workers,
				CoresPerWorker:    min(1, float64(runtime.NumCPU())/float64(f.workers)),
				PrefetchCapacity:  f.prefetch,
				PythonCommand:     f.python,
				Provider:          endpoint.ProviderConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 1},
				LogDir:            filepath.Join(f.dir, "endpoint"),
			},
			EndpointID:  f.endpointID,
			JournalPath: filepath.Join(f.dir, "journal.db"),
			StopGrace:   10 * time.Second,
			Dial: func(ctx context.Context) (broker.EndpointConn, error) {
				return rabbitmq.DialEndpoint(ctx, creds, rabbitmq.EndpointConfig{})
			},
			Ready: func() { close(ready) },
		})
	}()
	f.stops = append(f.stops, func() error { stopEndpoint(); return <-ran })
	select {
	case <-ready:
		return nil
	case err := <-ran:
		ran <- err
		return fmt.Errorf("endpoint: %w", err)
	case <-time.After(time.Minute):
		return errors.New("endpoint not linked to RabbitMQ within a minute")
	}
}

// stop stops everything, the endpoint first, and removes the files.
func (f *e2eFabric) stop() error {
	var errs []error
	for i := len(f.stops) - 1; i >= 0; i-- {
		errs = append(errs, f.stops[i]())
	}
	f.stops = nil
	return errors.Join(errs...)
}

// throughput sends n no-op tasks through the SDK and waits for every
// result; each must have succeeded. It returns tasks/s, from the first
// submission to the last result.
func (f *e2eFabric) throughput(ctx context.Context, n int) (float64, error) {
	return f.throughputOf(ctx, f.noop, n)
}

// throughputOf is throughput with the function fid, called without
// arguments.
func (f *e2eFabric) throughputOf(ctx context.Context, fid string, n int) (float64, error) {
	defer component(ctx, componentSDK)()
	ctx, cancel := context.WithTimeout(ctx, engineDeadline)
	defer cancel()
	inputs := make([]any, n)
	start := time.Now()
	futures, err := f.ex.Map(ctx, fid, inputs)
	if err != nil {
		return 0, err
	}
	for i, fu := range futures {
		if _, err := fu.Result(ctx); err != nil {
			return 0, fmt.Errorf("task %d of %d: %w", i, n, err)
		}
	}
	return rate(n, time.Since(start)), nil
}

// latencies times n tasks sent one at a time, each waited for, and adds
// each task's time in every stage to stages.
func (f *e2eFabric) latencies(ctx context.Context, n int, stages *stageTimes) ([]time.Duration, error) {
	defer component(ctx, componentSDK)()
	ctx, cancel := context.WithTimeout(ctx, engineDeadline)
	defer cancel()
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		r, err := f.ex.Submit(f.noop, nil).Result(ctx)
		if err != nil {
			return out, err
		}
		end := time.Now()
		out = append(out, end.Sub(start))
		stages.add(start, r.TaskResult.Times, end)
	}
	return out, nil
}

// stageNames name the gaps between a task's timestamps, from the SDK's
// submit to its future resolving.
var stageNames = []string{
	"SDK -> service", "service -> endpoint", "endpoint -> dispatch", "dispatch -> worker start",
	"run", "worker -> stored in service", "stored -> SDK",
}

// stageTimes collects, per stage, how long each task spent in it.
type stageTimes [][]time.Duration

func (st *stageTimes) add(start time.Time, t api.Times, end time.Time) {
	if *st == nil {
		*st = make(stageTimes, len(stageNames))
	}
	pts := []time.Time{start, t.Submitted, t.Received, t.Dispatched, t.Started, t.Finished, t.Stored, end}
	for i := range stageNames {
		(*st)[i] = append((*st)[i], pts[i+1].Sub(pts[i]))
	}
}

// String gives each stage's median and 99th percentile: where one
// task's time goes, and which stage its slow tail comes from.
func (st stageTimes) String() string {
	var b strings.Builder
	for i, name := range stageNames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.3f/%.3f", name, ms(percentile(st[i], 50)), ms(percentile(st[i], 99)))
	}
	return b.String() + " (ms, p50/p99)"
}

// e2ePhase measures the fabric end to end through RabbitMQ beside a raw
// RabbitMQ round trip (rabbitmq.RunRoundTrip: publish with confirms,
// consume and ack, publish a result with confirms, consume it), each pair
// in alternating rounds of the same run.
func (h *harness) e2ePhase(ctx context.Context) (err error) {
	o := h.o
	h.progress("end to end through RabbitMQ at %s, %d workers, prefetch_capacity %d: starting", redactURL(o.amqpURL()), o.Workers, o.Prefetch)
	f, err := startE2E(ctx, o.amqpURL(), o.Workers, o.Prefetch, o.Python)
	if err != nil {
		return fmt.Errorf("end to end: %w", err)
	}
	defer func() { err = errors.Join(err, f.stop()) }()

	h.progress("end to end: %d no-op tasks per round; raw round trip in messages of %d", o.E2ETasks, o.RawBatch)
	en := &measure{name: fmt.Sprintf("SDK->service->RabbitMQ->endpoint, %d workers", o.Workers), unit: "tasks/s",
		run: func(ctx context.Context) (float64, error) { return f.throughput(ctx, o.E2ETasks) }}
	raw := &measure{name: fmt.Sprintf("raw RabbitMQ round trip, %d tasks/msg", o.RawBatch), unit: "tasks/s",
		run: func(ctx context.Context) (float64, error) {
			s, err := rabbitmq.RunRoundTrip(ctx, rabbitmq.RoundTripConfig{URL: o.amqpURL(), Messages: max(1, o.E2ETasks/o.RawBatch), Batch: o.RawBatch})
			return s.ItemsPerSec, err
		}}
	if err := h.alternate(ctx, "end to end", en, raw); err != nil {
		return err
	}
	h.add(row{
		Key: "e2e-noop", Name: fmt.Sprintf("no-op Go tasks end to end (SDK, HTTP, service, RabbitMQ, endpoint), %d workers, prefetch %d", o.Workers, o.Prefetch), Unit: "tasks/s",
		Value: median(en.got), Rounds: en.got,
		Baseline: raw.name, BaselineValue: median(raw.got), BaselineRounds: raw.got,
		Tasks: o.E2ETasks, Returned: o.E2ETasks * len(en.got), BaselineReturned: max(1, o.E2ETasks/o.RawBatch) * o.RawBatch * len(raw.got),
		Target: &target{Of: "value", Op: ">=", Threshold: targetNoop},
	})
	h.add(row{
		Key: "e2e-noop-ratio", Name: "end to end / raw RabbitMQ round trip", Unit: "tasks/s",
		Value: median(en.got), Rounds: en.got,
		Baseline: raw.name, BaselineValue: median(raw.got), BaselineRounds: raw.got,
		Tasks: o.E2ETasks, Returned: o.E2ETasks * len(en.got), BaselineReturned: max(1, o.E2ETasks/o.RawBatch) * o.RawBatch * len(raw.got),
		Target: &target{Of: "ratio", Op: ">=", Threshold: targetE2ERatio},
	})

	h.progress("end to end latency: %d one-task round trips per round", o.Pings)
	var engAll, rawAll []time.Duration
	var stages stageTimes
	enl := &measure{name: "end to end, one task at a time", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := f.latencies(ctx, o.Pings, &stages)
		engAll = append(engAll, ds...)
		return ms(percentile(ds, 50)), err
	}}
	rawl := &measure{name: "raw RabbitMQ round trip, one at a time", unit: "ms", run: func(ctx context.Context) (float64, error) {
		s, err := rabbitmq.RunRoundTrip(ctx, rabbitmq.RoundTripConfig{URL: o.amqpURL(), LatencySamples: o.Pings})
		rawAll = append(rawAll, s.Samples...)
		return ms(s.P50), err
	}}
	if err := h.alternate(ctx, "end to end latency p50", enl, rawl); err != nil {
		return err
	}
	h.progress("end to end latency by stage: %s", stages)
	h.latencyRows("e2e-latency-", fmt.Sprintf("one-task latency p%%g end to end, %d workers", o.Workers), "raw RabbitMQ round trip, p%g",
		engAll, rawAll, false)
	if err := h.brokerHopRows(ctx); err != nil {
		return err
	}
	if o.NoE2EPython {
		return nil
	}
	return h.e2ePythonRounds(ctx, f)
}

// redactURL hides the password of an AMQP URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}
