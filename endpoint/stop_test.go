package endpoint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/journal"
	"github.com/funcx-go/funcx/service/api"
)

// A graceful stop (Run's ctx cancelled) while two tasks run lets them
// finish and publishes their results before Run returns: nothing is left
// in the outbox, and the service gets both results without another Run.
func TestStopPublishesResultsRabbitMQ(t *testing.T) {
	t.Parallel()
	stopPublishesResults(t, startFabric(t, rabbitBroker))
}

// The same with the in-process broker, as a fast unit test.
func TestStopPublishesResultsInProcess(t *testing.T) {
	t.Parallel()
	stopPublishesResults(t, startFabric(t, inProcessBroker))
}

func stopPublishesResults(t *testing.T, f *fabric) {
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	stop := f.runEndpointWith(t, journalPath, func(rc *endpoint.RunConfig) {
		rc.StopGrace = 2 * time.Minute // an upper bound, never reached
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	markers := t.TempDir()
	futures := f.startNaps(ctx, t, markers, "0.5", 2)

	stop() // returns once Run has
	if pending, outbox := journalLeft(t, journalPath); pending != 0 || outbox != 0 {
		t.Errorf("after the stop the journal holds %d tasks without a result and %d unpublished results, want none", pending, outbox)
	}
	// Published and confirmed: the service stores them soon, with no
	// endpoint running.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checkNaps(ctx, t, futures)
}

// startNaps submits n shell tasks that each create markers/started-<i>,
// sleep for seconds and print done-<i>, and returns once all n run.
func (f *fabric) startNaps(ctx context.Context, t *testing.T, markers, seconds string, n int) []*client.Future {
	t.Helper()
	fn, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "nap", Kind: "shell",
		Script: "touch " + markers + "/started-{i}; sleep " + seconds + "; echo done-{i}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := f.cl.Executor(f.endpointID)
	t.Cleanup(func() { ex.Close() })
	inputs := make([]any, n)
	for i := range inputs {
		inputs[i] = map[string]int{"i": i}
	}
	futures, err := ex.Map(ctx, fn, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		waitFile(ctx, t, filepath.Join(markers, fmt.Sprintf("started-%d", i)))
	}
	return futures
}

// checkNaps checks that the service has a successful result for each nap.
func checkNaps(ctx context.Context, t *testing.T, futures []*client.Future) {
	t.Helper()
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if got := string(r.Stdout()); got != fmt.Sprintf("done-%d\n", i) {
			t.Fatalf("task %d: stdout %q", i, got)
		}
	}
}

// waitFile waits until path exists.
func waitFile(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s does not appear: %v", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// journalLeft opens a journal no Run holds and counts its tasks without
// a result and its results the broker has not confirmed.
func journalLeft(t *testing.T, path string) (pending, outbox int) {
	t.Helper()
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	st := j.Stats()
	return st.Tasks, st.Outbox
}

// Tasks that reach the broker after the stop began are not run by the
// stopping endpoint, although it keeps its connection to publish: they
// wait in the broker for the next run.
func TestStopRunsNoNewTasks(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := runStoppable(t, f, runCtx, journalPath, nil)
	markers := t.TempDir()
	naps := f.startNaps(ctx, t, markers, "2", 1)

	stopRun()
	// Accepted by the service, so in the broker, while the stopping
	// endpoint still has its connection (the nap runs for a while).
	late, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "late", Kind: "shell",
		Script: "touch " + markers + "/late; echo late"})
	if err != nil {
		t.Fatal(err)
	}
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	lateTasks, err := ex.Map(ctx, late, []any{nil})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("endpoint.Run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(markers, "late")); err == nil {
		t.Fatal("a task delivered after the stop began ran")
	}
	checkNaps(ctx, t, naps)

	f.runEndpoint(t, journalPath)
	if r, err := lateTasks[0].Result(ctx); err != nil || string(r.Stdout()) != "late\n" {
		t.Fatalf("the late task at the next run: %v, %v", r, err)
	}
}

// runStoppable runs endpoint.Run on f until ctx ends and returns once it
// is up; Run's error arrives on the channel.
func runStoppable(t *testing.T, f *fabric, ctx context.Context, journalPath string, edit func(*endpoint.RunConfig)) <-chan error {
	t.Helper()
	ready := make(chan struct{})
	done := make(chan error, 1)
	rc := endpoint.RunConfig{
		Config: endpoint.Config{
			MaxWorkersPerNode: 2, LogDir: t.TempDir(),
			HeartbeatPeriod: 200 * time.Millisecond, HeartbeatThreshold: 5 * time.Second,
			Logger: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		},
		EndpointID: f.endpointID, JournalPath: journalPath, StopGrace: 2 * time.Minute,
		Dial:  func(ctx context.Context) (broker.EndpointConn, error) { return f.dial(ctx, f.creds) },
		Ready: func() { close(ready) },
	}
	if edit != nil {
		edit(&rc)
	}
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		done <- endpoint.Run(ctx, rc)
	}()
	t.Cleanup(func() {
		select {
		case <-returned:
		case <-time.After(3 * time.Minute):
			t.Error("endpoint.Run did not return")
		}
	})
	select {
	case <-ready:
	case <-returned:
		t.Fatalf("endpoint did not come up: %v", <-done)
	case <-time.After(time.Minute):
		t.Fatal("endpoint not ready within a minute")
	}
	return done
}

// tlog writes a logger's lines to the test's log, and stops at its end.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // t.Log panics once the test ended
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// cuttableDial dials f's broker until cut, then fails; sever ends the
// connections it made, as a network failure would.
type cuttableDial struct {
	f     *fabric
	cut   atomic.Bool
	mu    sync.Mutex
	conns []broker.EndpointConn
}

var errCut = errors.New("test: the broker is unreachable")

func (d *cuttableDial) dial(ctx context.Context) (broker.EndpointConn, error) {
	if d.cut.Load() {
		return nil, errCut
	}
	c, err := d.f.dial(ctx, d.f.creds)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conns = append(d.conns, c)
	d.mu.Unlock()
	return c, nil
}

func (d *cuttableDial) sever() {
	d.mu.Lock()
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// The broker connection lost in the middle of a stop: the link dials
// again during the grace period, and the stop publishes the results of
// the tasks it let finish on the new connection.
func TestStopReconnectsToPublish(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := &cuttableDial{f: f}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := runStoppable(t, f, runCtx, journalPath, func(rc *endpoint.RunConfig) { rc.Dial = d.dial })
	markers := t.TempDir()
	naps := f.startNaps(ctx, t, markers, "1", 2)

	stopRun()
	d.cut.Store(true)
	d.sever()
	// The naps end while the broker is unreachable; then it is back.
	time.Sleep(1500 * time.Millisecond)
	d.cut.Store(false)
	if err := <-ran; err != nil {
		t.Fatalf("endpoint.Run: %v", err)
	}
	if pending, outbox := journalLeft(t, journalPath); pending != 0 || outbox != 0 {
		t.Errorf("after the stop the journal holds %d tasks without a result and %d unpublished results, want none", pending, outbox)
	}
	checkNaps(ctx, t, naps)
}

// A stop that cannot reach the broker keeps the results in the outbox,
// says so in the log, and the next run publishes them.
func TestStopWithoutBrokerKeepsResults(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := &cuttableDial{f: f}
	var log syncBuffer
	runCtx, stopRun := context.WithCancel(ctx)
	ran := runStoppable(t, f, runCtx, journalPath, func(rc *endpoint.RunConfig) {
		rc.Dial = d.dial
		rc.StopGrace = 3 * time.Second
		rc.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	markers := t.TempDir()
	naps := f.startNaps(ctx, t, markers, "0.5", 2)

	d.cut.Store(true)
	d.sever()
	stopRun()
	if err := <-ran; err != nil {
		t.Fatalf("endpoint.Run: %v", err)
	}
	if pending, outbox := journalLeft(t, journalPath); pending != 0 || outbox != 2 {
		t.Errorf("after a stop without the broker the journal holds %d tasks without a result and %d unpublished results, want 0 and 2", pending, outbox)
	}
	if !strings.Contains(log.String(), "results stay in the outbox") {
		t.Errorf("the log does not say that the results stay in the outbox:\n%s", log.String())
	}
	d.cut.Store(false)
	f.runEndpoint(t, journalPath)
	checkNaps(ctx, t, naps)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
