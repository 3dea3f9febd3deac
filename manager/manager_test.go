package manager_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/worker"
)

// The test binary doubles as the worker binary: managers re-execute it.
func TestMain(m *testing.M) {
	worker.Main()
	goleak.VerifyTestMain(m)
}

const secret = "manager-test-secret"

type bundle struct {
	ix    *interchange.Interchange
	cfg   manager.Config
	runID string
}

func setup(t *testing.T, mod func(*manager.Config)) *bundle {
	t.Helper()
	ix, err := interchange.New(interchange.Config{Secret: secret, HeartbeatPeriod: 100 * time.Millisecond, HeartbeatThreshold: 3 * time.Second,
		Logger: testlog.New(t, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ix.Stop(context.Background())
		for range ix.Results() {
		}
	})
	runID := funcx.NewTaskID().String()
	cfg := manager.Config{
		InterchangeAddr: ix.Addr().String(), Secret: secret, BlockID: "b1", RunID: runID,
		MaxWorkers: 2, HeartbeatPeriod: 100 * time.Millisecond, HeartbeatThreshold: 3 * time.Second,
		GracePeriod: 2 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	t.Cleanup(func() { proctest.WaitGone(t, manager.EnvRunID, runID, 10*time.Second) })
	return &bundle{ix: ix, cfg: cfg, runID: runID}
}

// start runs the manager in the background until ctx ends or the test
// does; the returned channel yields Run's error once.
func start(t *testing.T, ctx context.Context, cfg manager.Config) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	if cfg.Logger == nil {
		cfg.Logger = testlog.New(t, slog.LevelDebug)
	}
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- manager.Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			t.Error("manager.Run did not return")
		}
	})
	return done
}

func collect(t *testing.T, ix *interchange.Interchange, n int) map[funcx.TaskID]funcx.Result {
	t.Helper()
	got := map[funcx.TaskID]funcx.Result{}
	timeout := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case batch := <-ix.Results():
			for _, r := range batch {
				if _, dup := got[r.TaskID]; dup {
					t.Fatalf("two results for %s", r.TaskID)
				}
				got[r.TaskID] = r
			}
		case <-timeout:
			t.Fatalf("%d of %d results", len(got), n)
		}
	}
	return got
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func shell(script string) funcx.Task {
	return funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Shell(script)}
}

func TestRunsShellAndGoTasks(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	done := start(t, context.Background(), b.cfg)
	echo := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(`{"a":1}`)}
	sh := shell("echo hello {who}; exit 3")
	sh.Args = []byte(`{"who":"world"}`)
	if err := b.ix.Submit(echo, sh); err != nil {
		t.Fatal(err)
	}
	got := collect(t, b.ix, 2)
	if r := got[echo.ID]; r.State != funcx.StateSuccess || string(r.Output) != `{"a":1}` {
		t.Fatalf("echo: %+v", r)
	}
	if r := got[sh.ID]; r.State != funcx.StateSuccess || string(r.Stdout) != "hello world\n" || r.ExitCode != 3 {
		t.Fatalf("shell: %+v", r)
	}
	for _, r := range got {
		if r.Manager == "" || r.Times.Started.IsZero() || r.Times.Finished.Before(r.Times.Started) {
			t.Fatalf("bookkeeping: %+v", r)
		}
	}
	if n := len(proctest.WithEnv(manager.EnvRunID, b.runID)); n != 2 {
		t.Fatalf("%d worker processes, want 2", n)
	}
	// The interchange's shutdown ends the manager cleanly, workers and all.
	if err := b.ix.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run after shutdown: %v", err)
	}
	proctest.WaitGone(t, manager.EnvRunID, b.runID, 5*time.Second)
}

func TestWorkerKilledMidTaskIsReplaced(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	start(t, context.Background(), b.cfg)
	// The task kills the worker running it: $PPID of the task's shell.
	victim := shell("echo $PPID; kill -9 $PPID; sleep 5")
	if err := b.ix.Submit(victim); err != nil {
		t.Fatal(err)
	}
	r := collect(t, b.ix, 1)[victim.ID]
	if !errors.Is(r.Err(), funcx.ErrWorkerLost) || !strings.Contains(r.Error.Message, "killed") {
		t.Fatalf("got %+v, want WorkerLost naming the signal", r.Error)
	}
	// The manager is back to two workers and they run tasks.
	waitFor(t, "replacement worker", func() bool { return len(proctest.WithEnv(manager.EnvRunID, b.runID)) == 2 })
	var tasks []funcx.Task
	for range 6 {
		tasks = append(tasks, shell("echo $PPID"))
	}
	if err := b.ix.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	for _, r := range collect(t, b.ix, len(tasks)) {
		if r.State != funcx.StateSuccess {
			t.Fatalf("after replacement: %+v", r)
		}
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *manager.Config) { c.Secret = "wrong" })
		err := manager.Run(context.Background(), b.cfg)
		if !errors.Is(err, manager.ErrRefused) || !strings.Contains(err.Error(), "wrong secret") {
			t.Fatalf("got %v", err)
		}
		if pids := proctest.WithEnv(manager.EnvRunID, b.runID); len(pids) != 0 {
			t.Fatalf("a refused manager started workers: %v", pids)
		}
	})
	t.Run("protocol version", func(t *testing.T) {
		t.Parallel()
		addr := fakeInterchange(t, func(c net.Conn, r *wire.Reader, w *wire.Writer) {
			_, p, _ := r.ReadFrame()
			h, _ := wire.DecodeHello(p)
			if h.Version != wire.ProtocolVersion {
				t.Errorf("manager sent version %d", h.Version)
			}
			_ = w.WriteFrame(wire.MsgRefused, wire.AppendText(nil, "protocol version 1 is not supported: this interchange speaks version 2"))
			_ = w.Flush()
		})
		err := manager.Run(context.Background(), manager.Config{InterchangeAddr: addr, Secret: secret})
		if !errors.Is(err, manager.ErrRefused) || !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("got %v", err)
		}
	})
}

// fakeInterchange accepts one connection and hands it to serve.
func fakeInterchange(t *testing.T, serve func(net.Conn, *wire.Reader, *wire.Writer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c, wire.NewReader(c, 0), wire.NewWriter(c, 0))
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// welcome completes the handshake the way the interchange would.
func welcome(t *testing.T, r *wire.Reader, w *wire.Writer, threshold time.Duration) {
	if _, _, err := r.ReadFrame(); err != nil {
		t.Error(err)
		return
	}
	_ = w.WriteFrame(wire.MsgWelcome, wire.AppendWelcome(nil, &wire.Welcome{HeartbeatPeriod: threshold / 4, HeartbeatThreshold: threshold}))
	_ = w.Flush()
}

func TestExitsWhenInterchangeDies(t *testing.T) {
	t.Parallel()
	runTask := func(w *wire.Writer) {
		_ = w.WriteFrame(wire.MsgTasks, wire.AppendTasks(nil, []funcx.Task{shell("sleep 60")}))
		_ = w.Flush()
	}
	cases := map[string]func(t *testing.T, c net.Conn, r *wire.Reader, w *wire.Writer){
		"connection drops": func(t *testing.T, c net.Conn, r *wire.Reader, w *wire.Writer) {
			welcome(t, r, w, 5*time.Second)
			runTask(w)
			time.Sleep(300 * time.Millisecond)
		},
		"interchange goes silent": func(t *testing.T, c net.Conn, r *wire.Reader, w *wire.Writer) {
			welcome(t, r, w, 700*time.Millisecond)
			runTask(w)
			// Read and ignore the manager's heartbeats, never answer.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, _, err := r.ReadFrame(); err != nil {
					return
				}
			}
		},
	}
	for name, serve := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runID := funcx.NewTaskID().String()
			addr := fakeInterchange(t, func(c net.Conn, r *wire.Reader, w *wire.Writer) { serve(t, c, r, w) })
			start := time.Now()
			err := manager.Run(context.Background(), manager.Config{InterchangeAddr: addr, Secret: secret, RunID: runID, MaxWorkers: 2})
			if err == nil || !strings.Contains(err.Error(), "lost the interchange") {
				t.Fatalf("got %v", err)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Fatalf("took %s to notice", took)
			}
			// No worker (nor the task's sleep) outlives the manager.
			proctest.WaitGone(t, manager.EnvRunID, runID, 5*time.Second)
		})
	}
}

func TestDrainsBeforeWalltime(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *manager.Config) {
		c.MaxWorkers, c.Prefetch = 1, 3
		// Drain starts 10 s in: time enough for a race-built worker on a
		// loaded machine to start the long task first (with 3 s, once in
		// CI it had not, and the drain returned all four tasks).
		c.Walltime, c.DrainPeriod = 40*time.Second, 30*time.Second
	})
	// The long task runs until the test has seen the drain, however
	// long the worker took to start it (up to a minute).
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	long := shell(fmt.Sprintf("touch %s; i=0; while [ ! -e %s ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; echo done", started, release))
	queued := []funcx.Task{shell("echo q1"), shell("echo q2"), shell("echo q3")}
	if err := b.ix.Submit(append([]funcx.Task{long}, queued...)...); err != nil {
		t.Fatal(err)
	}
	done := start(t, context.Background(), b.cfg)
	waitFor(t, "the long task to start", func() bool { _, err := os.Stat(started); return err == nil })
	// The queued three come back to the interchange while the running
	// task goes on, then it finishes and the manager leaves.
	waitFor(t, "the drain to return the queued tasks", func() bool {
		s := b.ix.Stats()
		return s.Pending == 3 && len(s.Managers) == 1 && s.Managers[0].Draining
	})
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := collect(t, b.ix, 1)[long.ID]
	if string(r.Stdout) != "done\n" {
		t.Fatalf("running task: %+v", r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("manager did not exit after draining")
	}
	if s := b.ix.Stats(); s.Pending != 3 || s.InFlight != 0 {
		t.Fatalf("after drain: pending %d in flight %d, want 3 and 0", s.Pending, s.InFlight)
	}
	// The next manager runs in this process too, so it has the same ID:
	// the interchange must have seen the first one leave.
	waitFor(t, "the first manager gone from the interchange", func() bool { return len(b.ix.Stats().Managers) == 0 })
	done2 := start(t, context.Background(), func() manager.Config { c := b.cfg; c.Walltime, c.DrainPeriod = 0, 0; return c }())
	got := collect(t, b.ix, 3)
	for _, q := range queued {
		if got[q.ID].State != funcx.StateSuccess {
			t.Fatalf("returned task: %+v", got[q.ID])
		}
	}
	_ = b.ix.Stop(context.Background())
	<-done2
}

func TestGracefulStopOnContextCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *manager.Config) { c.MaxWorkers, c.Prefetch = 1, 2 })
	ctx, cancel := context.WithCancel(context.Background())
	done := start(t, ctx, b.cfg)
	marker := t.TempDir() + "/started"
	running := shell("touch " + marker + "; sleep 0.5; echo finished")
	if err := b.ix.Submit(running, shell("echo a"), shell("echo b")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first task to start", func() bool { _, err := os.Stat(marker); return err == nil })
	cancel()
	r := collect(t, b.ix, 1)[running.ID]
	if string(r.Stdout) != "finished\n" {
		t.Fatalf("running task was not let finish: %+v", r)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := b.ix.Stats(); s.Pending != 2 {
		t.Fatalf("queued tasks not handed back: %+v", s)
	}
}

func TestAcceleratorsOneWorkerEach(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *manager.Config) { c.MaxWorkers, c.AvailableAccelerators = 8, []string{"0", "1"} })
	start(t, context.Background(), b.cfg)
	// The two tasks meet before they answer, so they run at once, on two
	// workers, however late a loaded machine starts the second worker (a
	// task queued behind the first is handed to it once it is ready).
	// Alone, one would give up after a minute and the test fail.
	meet := t.TempDir()
	var tasks []funcx.Task
	for i := range 2 {
		tasks = append(tasks, shell(fmt.Sprintf(`touch %[1]s/%[2]d; n=0
while [ "$(ls %[1]s | wc -l)" -lt 2 ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done
echo -n $CUDA_VISIBLE_DEVICES/$ROCR_VISIBLE_DEVICES`, meet, i)))
	}
	if err := b.ix.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	var devs []string
	for _, r := range collect(t, b.ix, 2) {
		devs = append(devs, string(r.Stdout))
	}
	slices.Sort(devs)
	if !slices.Equal(devs, []string{"0/0", "1/1"}) {
		t.Fatalf("devices %v", devs)
	}
	if n := len(proctest.WithEnv(manager.EnvRunID, b.runID)); n != 2 {
		t.Fatalf("%d workers for 2 accelerators", n)
	}
}

func TestWorkerCount(t *testing.T) {
	t.Parallel()
	gib := int64(1 << 30)
	cases := []struct {
		name  string
		cfg   manager.Config
		cores int
		mem   int64
		want  int
	}{
		{"one per core", manager.Config{CoresPerWorker: 1}, 8, 0, 8},
		{"two cores each", manager.Config{CoresPerWorker: 2}, 8, 0, 4},
		{"fractional cores", manager.Config{CoresPerWorker: 0.5}, 4, 0, 8},
		{"max workers", manager.Config{CoresPerWorker: 1, MaxWorkers: 3}, 8, 0, 3},
		{"memory bound", manager.Config{CoresPerWorker: 1, MemPerWorker: 2 * gib}, 8, 5 * gib, 2},
		{"accelerators", manager.Config{CoresPerWorker: 1, AvailableAccelerators: []string{"a", "b"}}, 8, 0, 2},
		{"never zero", manager.Config{CoresPerWorker: 4}, 2, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.WorkerCount(tc.cores, tc.mem); got != tc.want {
				t.Fatalf("got %d want %d", got, tc.want)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env, err := manager.Environ(manager.Config{InterchangeAddr: "h:1", Secret: "s", BlockID: "b", Walltime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := manager.ConfigFromEnv()
	if err != nil || cfg.InterchangeAddr != "h:1" || cfg.Secret != "s" || cfg.Walltime != time.Minute {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	t.Setenv(manager.EnvConfig, `{"interchange_addr":"h:1","bogus":1}`)
	if _, err := manager.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown key: %v", err)
	}
	os.Unsetenv(manager.EnvConfig)
}
