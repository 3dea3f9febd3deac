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
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/internal/procfs"
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
// fails without it (skips under -short).
func rabbitURL(t *testing.T) string {
	t.Helper()
	needs.Services(t, needs.RabbitMQ)
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
// and serves it on a free port with the real RabbitMQ; serveArgs are
// added to funcx-service serve's flags.
func startWorld(t *testing.T, serveArgs ...string) *bb {
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

	svc := exec.Command(bins[1], append([]string{db, "--log-level=warn", "serve", "--listen=127.0.0.1:0", "--amqp-url=" + amqpURL, "--heartbeat-period=1s"},
		serveArgs...)...)
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
	url := regexp.MustCompile(`https?://\S+`).FindString(lines.Text())
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
	// Registered after the service's clean-up, so run before it: the
	// endpoints a test left go, and their RabbitMQ virtual hosts and
	// users with them. (HTTPS worlds delete theirs: this has no CA.)
	if strings.HasPrefix(url, "http://") {
		t.Cleanup(func() {
			w.deleteEndpoints(t, w.clientID, w.secret)
			w.deleteEndpoints(t, w.otherID, w.otherSecret)
		})
	}
	return w
}

// deleteEndpoints deletes every endpoint of the identity, logging what
// it cannot.
func (w *bb) deleteEndpoints(t *testing.T, id, secret string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.New(client.Config{ServiceURL: w.serviceURL, ClientID: id, ClientSecret: secret})
	if err != nil {
		t.Logf("clean-up: %v", err)
		return
	}
	defer cl.Close()
	eps, err := cl.ListEndpoints(ctx)
	if err != nil {
		t.Logf("clean-up: %v", err)
		return
	}
	for _, ep := range eps {
		if err := cl.DeleteEndpoint(ctx, ep.EndpointID); err != nil {
			t.Logf("clean-up: delete endpoint %s: %v", ep.EndpointID, err)
		}
	}
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

// daemonProc is the process daemon.pid names, by PID and start time: on
// a machine that starts many processes its PID soon names another one
// once it has exited.
func (w *bb) daemonProc(t *testing.T) procfs.Proc {
	t.Helper()
	b, err := os.ReadFile(w.profile(t).Path(profile.PIDFile))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := procfs.Identify(pid)
	if !ok {
		t.Fatalf("daemon %d is not running", pid)
	}
	return p
}

// kill sends SIGKILL to p unless it has exited: never to a process that
// took its PID since.
func kill(p procfs.Proc) {
	if p.Alive() {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// configureWith configures the default profile and appends extra to its
// config.toml. The template's tables are all commented out, so extra may
// hold top-level keys followed by tables of its own. Whatever fails
// later, the test's cleanup kills the daemon daemon.pid names and the
// processes of the run run.json names, even those of a start the test
// did not get to record.
func (w *bb) configureWith(t *testing.T, extra string) {
	t.Helper()
	if o := w.run(t, "configure"); o.code != 0 {
		t.Fatalf("configure: %+v", o)
	}
	p := w.profile(t)
	t.Cleanup(func() {
		if b, err := os.ReadFile(p.Path(profile.PIDFile)); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if r, ok, err := p.Run(); err == nil && ok && r.RunID != "" {
			_, _ = profile.KillRun(context.Background(), r.RunID)
		}
	})
	f, err := os.OpenFile(w.profile(t).Path(profile.ConfigFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\n" + extra)
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
}

// started is a daemon that start left running.
type started struct {
	endpointID, runID string
	daemon            procfs.Proc
}

// start runs `funcx-endpoint start` and returns the daemon it left
// running (see running).
func (w *bb) start(t *testing.T) started {
	t.Helper()
	o := w.run(t, "start")
	m := regexp.MustCompile(`Endpoint ID: ([0-9a-f-]{36})\n`).FindStringSubmatch(o.stdout)
	if o.code != 0 || m == nil {
		t.Fatalf("start: %+v", o)
	}
	s := w.running(t)
	if s.endpointID != m[1] {
		t.Fatalf("start printed endpoint ID %s, endpoint.json has %s", m[1], s.endpointID)
	}
	return s
}

// running returns the daemon that runs the default profile. Whatever
// happens later, the test's cleanup kills it and every process of its
// run; cleanups registered before run after that (they may cancel the
// run's jobs, remove its containers).
func (w *bb) running(t *testing.T) started {
	t.Helper()
	reg, ok, err := w.profile(t).Registration()
	if err != nil || !ok {
		t.Fatalf("endpoint.json: %+v, %v, %v", reg, ok, err)
	}
	s := started{endpointID: reg.EndpointID, daemon: w.daemonProc(t), runID: w.runID(t)}
	t.Cleanup(func() {
		kill(s.daemon)
		_, _ = profile.KillRun(context.Background(), s.runID)
	})
	return s
}

// client is an SDK client of the world's user; the test closes it.
func (w *bb) client(t *testing.T) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{ServiceURL: w.serviceURL, ClientID: w.clientID, ClientSecret: w.secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// eventually polls ok every 100ms until it holds or within has passed,
// and reports whether it held. Deadlines are generous: the machine is
// shared and slow, and no test asserts a timing.
func eventually(within time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(within); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return ok()
		}
	}
	return true
}

// killed kills a daemon with SIGKILL, after freezing the processes of its
// run (SIGSTOP) so that none of them sees it go and cleans up after it;
// with alsoRun it kills those processes too. It waits until list shows
// the profile Disconnected.
func (w *bb) killed(t *testing.T, s started, alsoRun bool) {
	t.Helper()
	procs := profile.RunProcesses(s.runID)
	for _, pid := range procs {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	kill(s.daemon)
	if alsoRun {
		for _, pid := range procs {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if !eventually(time.Minute, func() bool { return !s.daemon.Alive() }) {
		t.Fatalf("daemon %d outlives SIGKILL", s.daemon.PID)
	}
	if alsoRun && !eventually(time.Minute, func() bool { return len(profile.RunProcesses(s.runID)) == 0 }) {
		t.Fatalf("processes %v of the run outlive SIGKILL", profile.RunProcesses(s.runID))
	}
	row := listRow(t, w.run(t, "list"), "default")
	for deadline := time.Now().Add(10 * time.Second); row[1] == "Running" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // the lock goes with the daemon's last thread
		row = listRow(t, w.run(t, "list"), "default")
	}
	if row[1] != "Disconnected" || row[2] != s.endpointID {
		t.Fatalf("after kill -9: %q", row)
	}
}
