package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/broker/brokertest"
	"github.com/funcx-go/funcx/internal/broker/rabbitmq"
	"github.com/funcx-go/funcx/internal/procfs"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// bb is a black-box world: the built binaries, a funcx-service on the
// real RabbitMQ, a user identity with client credentials, and an empty
// FUNCX_HOME.
type bb struct {
	endpointBin string
	funcxBin    string
	home        string
	env         []string
	serviceURL  string
	clientID    string
	secret      string
	// otherID and otherSecret are a second identity's.
	otherID, otherSecret string
}

// out is what one command printed and its exit status.
type out struct {
	stdout, stderr string
	code           int
}

// run runs funcx-endpoint with args and stdin from /dev/null (not a
// terminal, as under a scheduler or in CI).
func (w *bb) run(t *testing.T, args ...string) out {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.endpointBin, args...)
	cmd.Env = w.env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o := out{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("funcx-endpoint %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("funcx-endpoint %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), o.code, o.stdout, o.stderr)
	return o
}

// funcxRun runs a command on the endpoint with the funcx CLI and returns
// its output.
func (w *bb) funcxRun(t *testing.T, id string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(w.funcxBin, append([]string{"run", "-e", id, "--wait", "2m", "--"}, argv...)...)
	cmd.Env = w.env
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("funcx run %v: %v\n%s", argv, err, stderr)
	}
	return string(out)
}

// asOther returns a copy of the world whose commands run as the other
// identity.
func (w *bb) asOther() *bb {
	c := *w
	c.env = append(slices.Clone(w.env), client.EnvClientID+"="+w.otherID, client.EnvClientSecret+"="+w.otherSecret)
	return &c
}

// rabbitURL is the RabbitMQ that scripts/start-services.sh runs; the test
// fails (never skips) without it.
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

// startWorld builds the binaries, adds a user to a fresh service database
// and serves it on a free port with the real RabbitMQ.
func startWorld(t *testing.T) *bb {
	t.Helper()
	amqpURL := rabbitURL(t)
	bins := build(t, ".", "../funcx-service", "../funcx")
	dir := t.TempDir()
	db := "--db=" + filepath.Join(dir, "service.db")

	addUser := func(name string) [][]byte {
		t.Helper()
		add, err := exec.Command(bins[1], db, "user", "add", name).CombinedOutput()
		if err != nil {
			t.Fatalf("funcx-service user add: %v\n%s", err, add)
		}
		m := regexp.MustCompile(`export FUNCX_SDK_CLIENT_ID=(\S+) FUNCX_SDK_CLIENT_SECRET=(\S+)`).FindSubmatch(add)
		if m == nil {
			t.Fatalf("user add printed %q", add)
		}
		return m
	}
	m := addUser("alice")
	other := addUser("bob")

	svc := exec.Command(bins[1], db, "--log-level=warn", "serve", "--listen=127.0.0.1:0", "--amqp-url="+amqpURL, "--heartbeat-period=1s")
	svc.Stderr = &testWriter{t: t, prefix: "funcx-service: "}
	stdout, err := svc.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = svc.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = svc.Process.Kill()
			<-exited
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("funcx-service printed nothing: %v", svc.Wait())
	}
	url := regexp.MustCompile(`http://\S+`).FindString(lines.Text())
	go func() {
		for lines.Scan() {
		}
		_ = svc.Wait()
		close(exited)
	}()
	if url == "" {
		t.Fatalf("funcx-service said %q", lines.Text())
	}

	w := &bb{endpointBin: bins[0], funcxBin: bins[2], home: t.TempDir(), serviceURL: url, clientID: string(m[1]), secret: string(m[2]),
		otherID: string(other[1]), otherSecret: string(other[2])}
	w.env = append(cleanEnv(), "HOME="+t.TempDir(), client.EnvHome+"="+w.home, client.EnvServiceURL+"="+url,
		client.EnvClientID+"="+w.clientID, client.EnvClientSecret+"="+w.secret)
	return w
}

// cleanEnv is this process's environment without funcX variables.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FUNCX_") || strings.HasPrefix(kv, "HOME=")
	})
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// listRow returns the list table's row of profile name, split into its
// cells.
func listRow(t *testing.T, o out, name string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(o.stdout, "\n"), "\n")
	if o.code != 0 || len(lines) < 2 || !regexp.MustCompile(`^\| Endpoint Name \| +Status +\| +Endpoint ID +\|$`).MatchString(lines[0]) {
		t.Fatalf("list: %+v", o)
	}
	for _, l := range lines[1:] {
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) == 3 && cells[0] == name {
			return cells
		}
	}
	t.Fatalf("list has no row for %s:\n%s", name, o.stdout)
	return nil
}

func (w *bb) profile(t *testing.T) *profile.Profile {
	p, err := profile.New(w.home, "default")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runID is the run ID the running daemon recorded.
func (w *bb) runID(t *testing.T) string {
	t.Helper()
	r, ok, err := w.profile(t).Run()
	if err != nil || !ok || r.RunID == "" {
		t.Fatalf("run.json: %+v, %v, %v", r, ok, err)
	}
	return r.RunID
}

// daemonPID is the pid in daemon.pid.
func (w *bb) daemonPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(w.profile(t).Path(profile.PIDFile))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func alive(pid int) bool {
	st, ok := procfs.ReadStat(pid)
	return ok && st.Live()
}

// The endpoint's whole life through the built binaries: configure, start
// with a client identity from the environment, serve tasks, die by
// kill -9, show Disconnected, start again with clean-up and the same ID,
// run the tasks submitted while it was down, stop (twice), and leave no
// process behind.
func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	var runIDs []string
	var pids []int
	t.Cleanup(func() { // whatever failed, leave nothing running
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, id := range runIDs {
			_, _ = profile.KillRun(context.Background(), id)
		}
	})

	if o := w.run(t, "configure"); o.code != 0 || !strings.Contains(o.stdout, filepath.Join(w.home, "default")) {
		t.Fatalf("configure: %+v", o)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Initialized" || row[2] != "None" {
		t.Fatalf("after configure: %q", row)
	}
	cfg := filepath.Join(w.home, "default", "config.toml")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Top-level keys must precede the template's tables, which are all
	// commented out: appending works.
	_, err = f.WriteString("\nmax_workers_per_node = 2\nheartbeat_period = \"1s\"\nheartbeat_threshold = \"10s\"\n")
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}

	o := w.run(t, "start")
	idRE := regexp.MustCompile(`Endpoint ID: ([0-9a-f-]{36})\n`)
	m := idRE.FindStringSubmatch(o.stdout)
	if o.code != 0 || m == nil {
		t.Fatalf("start: %+v", o)
	}
	id := m[1]
	pids = append(pids, w.daemonPID(t))
	runIDs = append(runIDs, w.runID(t))
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Running" || row[2] != id {
		t.Fatalf("after start: %q", row)
	}
	// The daemon records its blocks for a clean-up after a crash.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		r, _, err := w.profile(t).Run()
		if err == nil && len(r.Blocks) == 1 && strings.HasPrefix(r.Blocks[0].JobID, "local-") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run.json does not list the block: %+v, %v", r, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := client.New(client.Config{ServiceURL: w.serviceURL, ClientID: w.clientID, ClientSecret: w.secret})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	echo, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "go", GoName: worker.NameEcho})
	if err != nil {
		t.Fatal(err)
	}
	shell, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "sh", Kind: "shell", Script: "echo shell-{n}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := cl.Executor(id)
	defer ex.Close()
	// submit sends tasks from..to-1 (every 5th a shell command, the rest
	// a Go echo) and returns once the service has accepted them.
	type batch struct{ echo, shell []*client.Future }
	submit := func(from, to int) batch {
		t.Helper()
		var echoIn, shellIn []any
		for i := from; i < to; i++ {
			if i%5 == 0 {
				shellIn = append(shellIn, map[string]int{"n": i})
			} else {
				echoIn = append(echoIn, i)
			}
		}
		var b batch
		var err error
		if b.echo, err = ex.Map(ctx, echo, echoIn); err != nil {
			t.Fatal(err)
		}
		if b.shell, err = ex.Map(ctx, shell, shellIn); err != nil {
			t.Fatal(err)
		}
		return b
	}
	check := func(from int, b batch) {
		t.Helper()
		e, s := 0, 0
		for i := from; i < from+len(b.echo)+len(b.shell); i++ {
			if i%5 == 0 {
				r, err := b.shell[s].Result(ctx)
				s++
				if err != nil {
					t.Fatalf("task %d: %v", i, err)
				}
				if got := string(r.Stdout()); got != fmt.Sprintf("shell-%d\n", i) {
					t.Fatalf("task %d: stdout %q", i, got)
				}
				continue
			}
			r, err := b.echo[e].Result(ctx)
			e++
			if err != nil {
				t.Fatalf("task %d: %v", i, err)
			}
			var n int
			if err := r.Output(&n); err != nil || n != i {
				t.Fatalf("task %d: output %d, %v", i, n, err)
			}
		}
	}
	check(0, submit(0, 50))
	if got := w.funcxRun(t, id, "echo", "hello from", "funcx run"); got != "hello from funcx run\n" {
		t.Fatalf("funcx run: %q", got)
	}

	// A task in flight when the daemon dies, which has started a process
	// in a session of its own: that one outlives the daemon, its manager
	// and its worker unless the next start cleans up.
	marker := filepath.Join(t.TempDir(), "started")
	slow, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "slow", Kind: "shell", Script: "setsid sh -c 'touch " + marker + "; exec sleep 300' </dev/null >/dev/null 2>&1 & sleep 8; echo slow-done"})
	if err != nil {
		t.Fatal(err)
	}
	inFlight := ex.Submit(slow, nil)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// kill -9: no clean-up at all.
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for alive(pids[0]) {
		time.Sleep(20 * time.Millisecond)
	}
	// The lock goes with the daemon's last thread, which can lag behind
	// the zombie state of its main thread that alive sees on a busy machine.
	row := listRow(t, w.run(t, "list"), "default")
	for deadline := time.Now().Add(10 * time.Second); row[1] == "Running" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		row = listRow(t, w.run(t, "list"), "default")
	}
	if row[1] != "Disconnected" || row[2] != id {
		t.Fatalf("after kill -9: %q", row)
	}
	leftovers := profile.RunProcesses(runIDs[0])
	if len(leftovers) == 0 {
		t.Fatal("the detached process of the task in flight is gone before any clean-up")
	}
	// Submitted while the endpoint is down: they wait in RabbitMQ.
	down := submit(50, 100)

	o = w.run(t, "start")
	if m := idRE.FindStringSubmatch(o.stdout); o.code != 0 || m == nil || m[1] != id {
		t.Fatalf("start after kill -9: %+v, want endpoint ID %s again", o, id)
	}
	if !strings.Contains(o.stderr, "was not stopped cleanly: cleaned up") {
		t.Fatalf("start did not say it cleaned up: %q", o.stderr)
	}
	if !regexp.MustCompile(`stopped [0-9]+ leftover process(es)? of run ` + runIDs[0]).MatchString(o.stderr) {
		t.Fatalf("start did not stop the leftovers %v: %q", leftovers, o.stderr)
	}
	if left := profile.RunProcesses(runIDs[0]); len(left) > 0 {
		t.Fatalf("processes of the killed run remain after the clean-up: %v", left)
	}
	pids = append(pids, w.daemonPID(t))
	runIDs = append(runIDs, w.runID(t))
	if runIDs[1] == runIDs[0] {
		t.Fatal("the new daemon reused the run ID")
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Running" {
		t.Fatalf("after the second start: %q", row)
	}
	check(50, down)
	// The task in flight at the kill ran again (at least once).
	if r, err := inFlight.Result(ctx); err != nil || string(r.Stdout()) != "slow-done\n" {
		t.Fatalf("task in flight at the kill: %v, %v", r, err)
	}

	// restart: a new run, the same endpoint.
	o = w.run(t, "restart")
	if m := idRE.FindStringSubmatch(o.stdout); o.code != 0 || m == nil || m[1] != id || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("restart: %+v", o)
	}
	if alive(pids[1]) {
		t.Fatalf("the daemon before the restart (%d) still runs", pids[1])
	}
	if left := profile.RunProcesses(runIDs[1]); len(left) > 0 {
		t.Fatalf("processes of the run before the restart remain: %v", left)
	}
	pids = append(pids, w.daemonPID(t))
	runIDs = append(runIDs, w.runID(t))
	check(100, submit(100, 110))
	if got := w.funcxRun(t, id, "sh", "-c", "echo $((6 * 7))"); got != "42\n" {
		t.Fatalf("funcx run after the restart: %q", got)
	}

	if o := w.run(t, "stop"); o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	// One stop is enough: the daemon is gone when it returns.
	if alive(pids[2]) {
		t.Fatalf("daemon %d still runs after stop", pids[2])
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" || row[2] != id {
		t.Fatalf("after stop: %q", row)
	}
	if o := w.run(t, "stop"); o.code != 0 || !strings.Contains(o.stdout, "not running") {
		t.Fatalf("second stop: %+v", o)
	}

	// Only the owner starts it: another identity is refused, by
	// endpoint.json's owner and, without it, by the service.
	bob := w.asOther()
	if o := bob.run(t, "start"); o.code != 1 || !strings.Contains(o.stderr, "belongs to alice") || !strings.Contains(o.stderr, "only its owner may start it") {
		t.Fatalf("start as another identity: %+v", o)
	}
	reg, _, err := w.profile(t).Registration()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.profile(t).SaveRegistration(profile.Registration{EndpointID: reg.EndpointID}); err != nil {
		t.Fatal(err)
	}
	if o := bob.run(t, "start"); o.code != 1 || !strings.Contains(o.stderr, "belongs to another identity") || !strings.Contains(o.stderr, "only its owner may start it") {
		t.Fatalf("start as another identity, the service asked: %+v", o)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" {
		t.Fatalf("after the refused starts: %q", row)
	}
	for _, run := range runIDs {
		if left := profile.RunProcesses(run); len(left) > 0 {
			t.Fatalf("processes of run %s remain after stop: %v", run, left)
		}
	}
	for _, f := range []string{profile.PIDFile, profile.RunFile} {
		if _, err := os.Stat(w.profile(t).Path(f)); !os.IsNotExist(err) {
			t.Errorf("%s remains after stop", f)
		}
	}

	// Deleting deregisters it: its RabbitMQ user and queue go too.
	if o := w.run(t, "delete", "--yes", "default"); o.code != 0 {
		t.Fatalf("delete: %+v", o)
	}
	if _, err := cl.EndpointStatus(ctx, id); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("endpoint still registered after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.home, "default")); !os.IsNotExist(err) {
		t.Fatal("the profile directory remains after delete")
	}
}

// A daemon that cannot start says why through start, which exits
// non-zero; nothing is left running and the endpoint is not Disconnected.
func TestStartReportsDaemonFailure(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	w.run(t, "configure")
	p := w.profile(t)
	// Valid TOML and a valid configuration, but no interface of this
	// machine has the address: only the daemon's engine finds out.
	if err := os.WriteFile(p.Path(profile.ConfigFile), []byte("interchange_addr = \"192.0.2.1:1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := w.run(t, "start")
	if o.code != 1 || !strings.Contains(o.stderr, "endpoint default did not start") || !strings.Contains(o.stderr, "192.0.2.1:1") {
		t.Fatalf("start: %+v", o)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" {
		t.Fatalf("after the failed start: %q", row)
	}
	for _, f := range []string{profile.PIDFile, profile.RunFile} {
		if _, err := os.Stat(p.Path(f)); !os.IsNotExist(err) {
			t.Errorf("%s remains after the failed start", f)
		}
	}
	log, err := os.ReadFile(p.Path(profile.LogFile))
	if err != nil || !strings.Contains(string(log), "endpoint did not start") {
		t.Fatalf("endpoint.log: %v\n%s", err, log)
	}
}

// start --foreground serves in the foreground until SIGTERM, then stops
// cleanly: Stopped, nothing left.
func TestStartForeground(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	w.run(t, "configure")
	cmd := exec.Command(w.endpointBin, "start", "--foreground")
	cmd.Env = w.env
	cmd.Stderr = &testWriter{t: t, prefix: "start --foreground: "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := bufio.NewScanner(stdout)
	var id string
	for lines.Scan() {
		if m := regexp.MustCompile(`^Endpoint ID: (\S+)$`).FindStringSubmatch(lines.Text()); m != nil {
			id = m[1]
			break
		}
	}
	go func() {
		for lines.Scan() {
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if id == "" {
		t.Fatalf("start --foreground printed no endpoint ID: %v", <-exited)
	}
	runID := w.runID(t)
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Running" || row[2] != id {
		t.Fatalf("while in the foreground: %q", row)
	}
	if got := w.funcxRun(t, id, "echo", "in the foreground"); got != "in the foreground\n" {
		t.Fatalf("funcx run: %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("start --foreground after SIGTERM: %v", err)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" {
		t.Fatalf("after SIGTERM: %q", row)
	}
	if left := profile.RunProcesses(runID); len(left) > 0 {
		t.Fatalf("processes of the run remain: %v", left)
	}
}
