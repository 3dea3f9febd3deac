package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/procfs"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// The endpoint's whole life through the built binaries: configure, start
// with a client identity from the environment, serve tasks, die by
// kill -9, show Disconnected, start again with clean-up and the same ID,
// run the tasks submitted while it was down, stop (twice), and leave no
// process behind.
func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	var runIDs []string
	var daemons []procfs.Proc
	t.Cleanup(func() { // whatever failed, leave nothing running
		for _, d := range daemons {
			kill(d)
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
	daemons = append(daemons, w.daemonProc(t))
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
	// Block scripts and their output are kept in the profile.
	if scripts, _ := filepath.Glob(filepath.Join(w.profile(t).Dir(), "submit_scripts", "*")); len(scripts) == 0 {
		t.Errorf("no block script in %s", filepath.Join(w.profile(t).Dir(), "submit_scripts"))
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
	if err := syscall.Kill(daemons[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for daemons[0].Alive() {
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
	daemons = append(daemons, w.daemonProc(t))
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
	if daemons[1].Alive() {
		t.Fatalf("the daemon before the restart (%d) still runs", daemons[1].PID)
	}
	if left := profile.RunProcesses(runIDs[1]); len(left) > 0 {
		t.Fatalf("processes of the run before the restart remain: %v", left)
	}
	daemons = append(daemons, w.daemonProc(t))
	runIDs = append(runIDs, w.runID(t))
	check(100, submit(100, 110))
	if got := w.funcxRun(t, id, "sh", "-c", "echo $((6 * 7))"); got != "42\n" {
		t.Fatalf("funcx run after the restart: %q", got)
	}

	if o := w.run(t, "stop"); o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	// One stop is enough: the daemon is gone when it returns.
	if daemons[2].Alive() {
		t.Fatalf("daemon %d still runs after stop", daemons[2].PID)
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
	// Its broker user and virtual host go with it.
	if r := w.run(t, "delete", "--yes", "default"); r.code != 0 {
		t.Fatalf("delete after the foreground run: %+v", r)
	}
}
