package endpoint_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/journal"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// The child endpoint role: the test binary re-executed with
// envChildEndpoint set runs endpoint.Run in a process of its own, so that
// a test can kill -9 it. envRunMark, inherited by the managers and
// workers it starts, lets the test find every process of one child run.
const (
	envChildEndpoint = "FUNCX_TEST_CHILD_ENDPOINT"
	envRunMark       = "FUNCX_TEST_RUN_MARK"
	slowEcho         = "crashtest.slowecho"
	// childHeartbeatThreshold is short so that the managers of a killed
	// endpoint notice soon that their interchange is gone and exit.
	childHeartbeatThreshold = 2 * time.Second
)

// childSpec is what a child endpoint needs, passed as JSON in
// envChildEndpoint.
type childSpec struct {
	EndpointID string             `json:"endpoint_id"`
	Journal    string             `json:"journal"`
	LogDir     string             `json:"log_dir"`
	Creds      broker.Credentials `json:"creds"`
}

func init() {
	// Registered in every process of the test binary: the workers the
	// child endpoint starts are re-executions of it too.
	worker.Register(slowEcho, func(_ context.Context, n int) (int, error) {
		time.Sleep(5 * time.Millisecond)
		return n, nil
	})
	// Managers and workers inherit envChildEndpoint's absence (the child
	// clears it) but check the role anyway: TestMain serves those.
	spec := os.Getenv(envChildEndpoint)
	if spec == "" || os.Getenv(manager.EnvRole) != "" {
		return
	}
	os.Unsetenv(envChildEndpoint)
	if err := serveChildEndpoint(spec); err != nil {
		fmt.Fprintln(os.Stderr, "child endpoint:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveChildEndpoint runs endpoint.Run against RabbitMQ until SIGTERM,
// printing "ready" on stdout once it is up.
func serveChildEndpoint(specJSON string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return endpoint.Run(ctx, endpoint.RunConfig{
		Config: endpoint.Config{
			MaxWorkersPerNode: 2, PrefetchCapacity: 8, LogDir: spec.LogDir,
			HeartbeatPeriod: 200 * time.Millisecond, HeartbeatThreshold: childHeartbeatThreshold,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		},
		EndpointID: spec.EndpointID, JournalPath: spec.Journal, StopGrace: 10 * time.Second,
		Dial: func(ctx context.Context) (broker.EndpointConn, error) {
			return rabbitmq.DialEndpoint(ctx, spec.Creds, rabbitmq.EndpointConfig{})
		},
		Ready: func() { fmt.Println("ready") },
	})
}

// childEndpoint is a running child endpoint process.
type childEndpoint struct {
	cmd    *exec.Cmd
	mark   string // envRunMark of its processes
	stderr string // its log file
	exited chan error
}

// startChildEndpoint starts a child endpoint on journal and waits until
// it is up. Cleanup kills it if the test has not stopped it.
func (f *fabric) startChildEndpoint(t *testing.T, journal string) *childEndpoint {
	t.Helper()
	spec, err := json.Marshal(childSpec{EndpointID: f.endpointID, Journal: journal, LogDir: t.TempDir(), Creds: f.creds})
	if err != nil {
		t.Fatal(err)
	}
	c := &childEndpoint{mark: rand.Text(), stderr: filepath.Join(t.TempDir(), "endpoint.stderr"), exited: make(chan error, 1)}
	logFile, err := os.Create(c.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), envChildEndpoint+"="+string(spec), envRunMark+"="+c.mark)
	c.cmd.Stderr = logFile
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line == "ready\n"
		c.exited <- c.cmd.Wait() // after the read: Wait closes the pipe
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.exited
		c.exited <- nil
		proctest.WaitGone(t, envRunMark, c.mark, 2*childHeartbeatThreshold+20*time.Second)
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("child endpoint did not come up:\n%s", c.log())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("child endpoint not ready within 60s:\n%s", c.log())
	}
	return c
}

func (c *childEndpoint) log() string {
	b, _ := os.ReadFile(c.stderr)
	return string(b)
}

// kill9 kills the endpoint process alone (not its managers, which are in
// sessions of their own) and reaps it.
func (c *childEndpoint) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-c.exited
	c.exited <- err
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("endpoint process ended with %v, not by SIGKILL:\n%s", err, c.log())
	}
}

// stop stops the endpoint cleanly (SIGTERM) and checks it exited 0.
func (c *childEndpoint) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-c.exited
	c.exited <- err
	if err != nil {
		t.Fatalf("endpoint stop: %v:\n%s", err, c.log())
	}
}

// An endpoint process killed with SIGKILL while tasks run loses nothing:
// its managers exit by themselves once their interchange has been gone
// for heartbeat_threshold (nothing of the killed run stays), and the
// next endpoint on the same journal re-publishes its outbox and re-runs
// its unfinished tasks. The service records exactly one result per task.
func TestEndpointKill9LosesNothing(t *testing.T) {
	t.Parallel()
	f := startFabric(t, rabbitBroker)
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	first := f.startChildEndpoint(t, journalPath)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 1000 // 5 ms each on 2 workers: at least 2.5 s of work
	// Kill once results flow: some tasks are done, others journaled,
	// running, or still queued in RabbitMQ.
	_, _, futures := f.slowEchoes(ctx, t, n, 50)
	first.kill9(t)
	t.Logf("killed the endpoint with %d of %d results in", countDone(futures), n)

	// Its managers and workers notice and exit by themselves.
	proctest.WaitGone(t, envRunMark, first.mark, 2*childHeartbeatThreshold+20*time.Second)

	second := f.startChildEndpoint(t, journalPath)
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		var out int
		if err := r.Output(&out); err != nil || out != i {
			t.Fatalf("task %d: output %d, %v", i, out, err)
		}
	}
	second.stop(t)
	proctest.WaitGone(t, envRunMark, second.mark, 20*time.Second)
	// A clean stop leaves nothing behind in the journal: no task without
	// its result, no result the broker has not confirmed.
	j, err := journal.Open(journalPath, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := j.PendingTasks()
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := j.Outbox(10)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(pending) > 0 || len(outbox) > 0 {
		t.Errorf("journal after a clean stop: %d tasks pending, %d results in the outbox", len(pending), len(outbox))
	}

	checkExactlyOnce(ctx, t, f.cl, futures)
}

// slowEchoes registers the slow echo function, submits n tasks echoing
// 0..n-1 and returns once the first `first` results are in, so that the
// rest are at every stage of their way.
func (f *fabric) slowEchoes(ctx context.Context, t *testing.T, n, first int) (fn string, ex *client.Executor, futures []*client.Future) {
	t.Helper()
	fn, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "slowecho", Kind: "go", GoName: slowEcho})
	if err != nil {
		t.Fatal(err)
	}
	ex = f.cl.Executor(f.endpointID)
	t.Cleanup(func() { ex.Close() })
	inputs := make([]any, n)
	for i := range inputs {
		inputs[i] = i
	}
	if futures, err = ex.Map(ctx, fn, inputs); err != nil {
		t.Fatal(err)
	}
	for _, fu := range futures[:first] {
		if _, err := fu.Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return fn, ex, futures
}

// countDone counts the futures resolved so far.
func countDone(futures []*client.Future) int {
	done := 0
	for _, fu := range futures {
		select {
		case <-fu.Done():
			done++
		default:
		}
	}
	return done
}

// checkExactlyOnce checks that the service's result log holds each task
// of futures exactly once, and no other.
func checkExactlyOnce(ctx context.Context, t *testing.T, cl *client.Client, futures []*client.Future) {
	t.Helper()
	want := make(map[string]bool, len(futures))
	for _, fu := range futures {
		want[fu.TaskID()] = true
	}
	seen := recordedResults(ctx, t, cl)
	for id, count := range seen {
		if !want[id] {
			t.Errorf("result for a task never submitted: %s", id)
		} else if count != 1 {
			t.Errorf("task %s has %d recorded results", id, count)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("task %s has no recorded result", id)
		}
	}
}

// recordedResults pages through every result the service stored for the
// client's identity and counts them per task.
func recordedResults(ctx context.Context, t *testing.T, cl *client.Client) map[string]int {
	t.Helper()
	seen := map[string]int{}
	var after int64
	for {
		page, err := cl.Results(ctx, after, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Results) == 0 {
			return seen
		}
		for _, r := range page.Results {
			seen[r.TaskID]++
		}
		after = page.Next
	}
}
