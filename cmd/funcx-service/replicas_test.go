package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// Two funcx-service processes on one PostgreSQL database and one
// RabbitMQ, with a real endpoint (the funcx-endpoint binary): 10,000
// tasks submitted round-robin across the replicas through the SDK, one
// replica killed with SIGKILL halfway, while it holds submissions and
// result deliveries in flight. Every task gets exactly one result, read
// from the survivor and from the killed replica started again.
func TestReplicasSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and RabbitMQ, and builds binaries")
	}
	t.Parallel()
	const total, batch = 10_000, 250
	began := time.Now()
	phase := func(what string) { t.Logf("%s after %s", what, time.Since(began).Round(time.Millisecond)) }
	amqpURL := rabbitURL(t)
	db := pgDB(t)
	bins := buildBins(t, ".", "../funcx-endpoint")
	code, out, errOut := run(t, db, "user", "add", "alice")
	m := regexp.MustCompile(`export FUNCX_SDK_CLIENT_ID=(\S+) FUNCX_SDK_CLIENT_SECRET=(\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("user add: %d %q %q", code, out, errOut)
	}
	clientID, secret := m[1], m[2]
	phase("built")
	serve := func(name string) *replicaProc {
		return startReplica(t, name, bins[0], db, "--amqp-url="+amqpURL, "--heartbeat-period=1s")
	}
	a, b := serve("a"), serve("b")

	// The endpoint registers through a; b consumes its results too (a
	// tells b at once through the database).
	ep := startEndpoint(t, bins[1], a.url, clientID, secret)
	phase("endpoint started")
	clients := map[*replicaProc]*client.Client{}
	for _, r := range []*replicaProc{a, b} {
		cl, err := client.New(client.Config{ServiceURL: r.url, ClientID: clientID, ClientSecret: secret, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		clients[r] = cl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fn, err := clients[b].RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "noop", Kind: "go", GoName: worker.NameNoop})
	if err != nil {
		t.Fatal(err)
	}

	// Each batch has task IDs of the client's own, so that a batch whose
	// answer was lost with b is submitted again to a, as a load balancer
	// retrying on another replica would: the store takes each task once.
	var batches [][]api.TaskSubmit
	want := make(map[string]bool, total)
	for i := 0; i < total; i += batch {
		var ts []api.TaskSubmit
		for range batch {
			id := newTaskID()
			want[id] = true
			ts = append(ts, api.TaskSubmit{TaskID: id, FunctionID: fn})
		}
		batches = append(batches, ts)
	}
	var submitted sync.WaitGroup
	var bSubmitted, retried int
	halfway := make(chan struct{})
	// b's submitter stopping early (failing the test) still lets the
	// killer go on, so that nothing waits for ever.
	reachedHalfway := sync.OnceFunc(func() { close(halfway) })
	submitted.Go(func() {
		// Halfway through b's share, while b answers its next batch and
		// results flow through both replicas.
		<-halfway
		time.Sleep(20 * time.Millisecond)
		b.kill(t)
	})
	for k, r := range []*replicaProc{a, b} {
		submitted.Go(func() {
			if r == b {
				defer reachedHalfway()
			}
			for i := k; i < len(batches); i += 2 {
				target := r
				if r == b && b.killed() {
					target = a // the load balancer sends b's share to a
				}
				_, err := clients[target].Submit(ctx, ep, batches[i])
				if err != nil && target == b && b.killed() {
					retried++
					_, err = clients[a].Submit(ctx, ep, batches[i])
				}
				if err != nil {
					t.Errorf("submit batch %d to %s: %v", i, target.name, err)
					return
				}
				if i >= len(batches)-2 {
					phase("submitted")
				}
				if target == b {
					bSubmitted++
					if bSubmitted == len(batches)/4 {
						reachedHalfway()
					}
				}
			}
		})
	}

	// Meanwhile read every result from a, by long poll.
	got := readResults(ctx, t, clients[a], total)
	phase("results read")
	submitted.Wait()
	if !b.killed() {
		t.Fatal("b was never killed")
	}
	check := func(from string, results map[string]int) {
		t.Helper()
		var missing, dup int
		for id := range want {
			switch results[id] {
			case 0:
				missing++
			case 1:
			default:
				dup++
			}
		}
		if missing > 0 || dup > 0 || len(results) != total {
			t.Fatalf("results read from %s: %d tasks, %d missing, %d twice; want each of %d once", from, len(results), missing, dup, total)
		}
	}
	check("a", got)
	t.Logf("replica b took %d batches before it was killed; %d of its batches went to a again", bSubmitted, retried)

	// b, started again on the same database, serves the same results.
	phase("checked")
	b2 := serve("b2")
	cl, err := client.New(client.Config{ServiceURL: b2.url, ClientID: clientID, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	check("b started again", readResults(ctx, t, cl, total))
	ids := make([]string, 0, total)
	for id := range want {
		ids = append(ids, id)
	}
	sts, err := cl.TaskStatus(ctx, ids...)
	if err != nil || len(sts) != total {
		t.Fatalf("status from b: %d of %d, %v", len(sts), total, err)
	}
	for _, s := range sts {
		if s.State != "success" || s.Result == nil {
			t.Fatalf("task %s on b: %s %+v", s.TaskID, s.State, s.Result)
		}
	}
	phase("read again from b")
}

// readResults long-polls cl's results from the start until n distinct
// tasks have one (or ctx ends), and returns how often each task's
// result came.
func readResults(ctx context.Context, t *testing.T, cl *client.Client, n int) map[string]int {
	t.Helper()
	got := make(map[string]int, n)
	var after int64
	for len(got) < n {
		page, err := cl.Results(ctx, after, 10*time.Second, 0)
		if err != nil {
			t.Fatalf("results after %d (%d tasks so far): %v", after, len(got), err)
		}
		for _, r := range page.Results {
			if r.State != "success" {
				t.Fatalf("task %s: %s %+v", r.TaskID, r.State, r.Error)
			}
			got[r.TaskID]++
		}
		after = page.Next
	}
	// Anything more (a second result of a task) would be here by now.
	page, err := cl.Results(ctx, after, time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Results {
		got[r.TaskID]++
	}
	return got
}

// newTaskID is a task ID of the client's making.
func newTaskID() string { return funcx.NewTaskID().String() }

// replicaProc is one funcx-service serve process.
type replicaProc struct {
	name, url string
	cmd       *exec.Cmd
	exited    chan struct{}
	mu        sync.Mutex
	dead      bool
}

// startReplica starts funcx-service serve on a free port; the test's
// cleanup stops it with SIGTERM (SIGKILL after 30s).
func startReplica(t *testing.T, name, bin, db string, args ...string) *replicaProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{db, "--log-level=warn", "serve", "--listen=127.0.0.1:0"}, args...)...)
	cmd.Stderr = &prefixLog{t: t, prefix: "funcx-service " + name + ": "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replicaProc{name: name, cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-r.exited
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("funcx-service %s printed nothing", name)
	}
	r.url = regexp.MustCompile(`http://\S+`).FindString(lines.Text())
	go func() {
		for lines.Scan() {
		}
		_ = cmd.Wait()
		close(r.exited)
	}()
	if r.url == "" {
		t.Fatalf("funcx-service %s said %q", name, lines.Text())
	}
	return r
}

// kill kills the replica with SIGKILL and waits until it is gone.
func (r *replicaProc) kill(t *testing.T) {
	r.mu.Lock()
	r.dead = true
	r.mu.Unlock()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Errorf("kill %s: %v", r.name, err)
	}
	<-r.exited
	t.Logf("killed replica %s with SIGKILL", r.name)
}

func (r *replicaProc) killed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dead
}

// startEndpoint configures and starts an endpoint daemon (funcx-endpoint
// start) registered through serviceURL and returns its ID. The test's
// cleanup stops it, kills whatever of its run is left, and deletes the
// endpoint (its RabbitMQ virtual host and user).
func startEndpoint(t *testing.T, bin, serviceURL, clientID, secret string) string {
	t.Helper()
	home := t.TempDir()
	env := append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FUNCX_") || strings.HasPrefix(kv, "HOME=")
	}), "HOME="+t.TempDir(), client.EnvHome+"="+home, client.EnvServiceURL+"="+serviceURL,
		client.EnvClientID+"="+clientID, client.EnvClientSecret+"="+secret)
	endpointCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("funcx-endpoint %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	endpointCmd("configure")
	p, err := profile.New(home, "default")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p.Path(profile.ConfigFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\nmax_workers_per_node = 2\nprefetch_capacity = 16\nheartbeat_period = \"1s\"\nheartbeat_threshold = \"10s\"\n")
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	var id string
	t.Cleanup(func() {
		cmd := exec.Command(bin, "stop")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("funcx-endpoint stop: %v\n%s", err, out)
		}
		if b, err := os.ReadFile(p.Path(profile.PIDFile)); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if r, ok, err := p.Run(); err == nil && ok && r.RunID != "" {
			_, _ = profile.KillRun(context.Background(), r.RunID)
		}
		if id == "" {
			return
		}
		cl, err := client.New(client.Config{ServiceURL: serviceURL, ClientID: clientID, ClientSecret: secret})
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		if err := cl.DeleteEndpoint(context.Background(), id); err != nil {
			t.Errorf("delete endpoint %s: %v", id, err)
		}
	})
	out := endpointCmd("start")
	mm := regexp.MustCompile(`Endpoint ID: ([0-9a-f-]{36})\n`).FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("funcx-endpoint start printed %q", out)
	}
	id = mm[1]
	return id
}

// rabbitURL is the RabbitMQ that scripts/start-services.sh runs; the
// test fails (never skips) without it.
func rabbitURL(t *testing.T) string {
	t.Helper()
	brokertest.ShareRabbitMQ(t) // no outage test stops RabbitMQ under this one
	url := cmp.Or(os.Getenv("FUNCX_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/")
	svc, err := rabbitmq.New(rabbitmq.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Ping(context.Background()); err != nil {
		t.Fatalf("RabbitMQ at %s: %v (run scripts/start-services.sh as root to install and start it)", url, err)
	}
	return url
}

// buildBins builds the command packages (relative to this directory),
// static, into a temporary directory and returns their paths in order.
func buildBins(t *testing.T, pkgs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var bins []string
	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		if pkg == "." {
			name = "funcx-service"
		}
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		bins = append(bins, bin)
	}
	return bins
}

// prefixLog writes a process's output to the test log, line by line.
type prefixLog struct {
	t      *testing.T
	prefix string
}

func (w *prefixLog) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.Log(w.prefix + l)
	}
	return len(b), nil
}
