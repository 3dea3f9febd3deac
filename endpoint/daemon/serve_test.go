package daemon

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
)

// A daemon that cannot reach its broker gives up after the start-up
// timeout and says why; it leaves the profile Stopped, with nothing
// running.
func TestServeGivesUpWithTheBrokerError(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	h := Handoff{EndpointID: testEndpointID, Broker: api.BrokerCredentials{
		URL: "amqp://127.0.0.1:1/", Username: "ep", Password: "pw", TaskQueue: "tasks", ResultExchange: "results"}}
	var reported []error
	err := Serve(context.Background(), Config{Profile: p, Handoff: h, StartTimeout: 2 * time.Second,
		Ready: func(err error) { reported = append(reported, err) }})
	if err == nil || !strings.Contains(err.Error(), "is not up after 2s: cannot reach the broker") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("serve: %v", err)
	}
	if len(reported) != 1 || reported[0] == nil || reported[0].Error() != err.Error() {
		t.Fatalf("reported %v", reported)
	}
	if st, err := p.Status(); err != nil || st.State != profile.Stopped {
		t.Fatalf("after giving up: %+v, %v", st, err)
	}
	if log := readLog(t, p); !strings.Contains(log, "endpoint not up in time") {
		t.Fatalf("endpoint.log:\n%s", log)
	}
}

// A registration without a broker URL (a service on an in-process
// broker) is refused before anything starts.
func TestServeRefusesAServiceWithoutBroker(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	var reported error
	err := Serve(context.Background(), Config{Profile: p, Handoff: Handoff{EndpointID: testEndpointID},
		Ready: func(err error) { reported = err }})
	if err == nil || !strings.Contains(err.Error(), "in-process broker") || reported != err {
		t.Fatalf("serve: %v, reported %v", err, reported)
	}
	if _, err := os.Stat(p.Path(profile.PIDFile)); !os.IsNotExist(err) {
		t.Fatalf("daemon.pid after a refused start: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no profile", Config{Handoff: Handoff{EndpointID: "x"}, Dial: memDial(nil)}, "Config.Profile"},
		{"no endpoint ID", Config{Profile: &profile.Profile{}, Dial: memDial(nil)}, "Config.Handoff.EndpointID"},
		{"negative timeout", Config{Profile: &profile.Profile{}, Handoff: Handoff{EndpointID: "x"}, Dial: memDial(nil), StartTimeout: -1}, "Config.StartTimeout"},
		{"negative log size", Config{Profile: &profile.Profile{}, Handoff: Handoff{EndpointID: "x"}, Dial: memDial(nil), LogMaxMB: -1}, "Config.LogMaxMB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg.WithDefaults()
			if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if d := (Config{}).WithDefaults(); d.StartTimeout != DefaultStartTimeout || d.LogMaxMB != DefaultLogMaxMB || d.LogMaxBackups != DefaultLogMaxBackups {
		t.Fatalf("defaults: %+v", d)
	}
}

// Serve holds the daemon lock and records the run while it runs; a stop
// kills a process of the run that outlived its blocks (started in a
// session of its own), and leaves the profile Stopped with no run.json.
func TestServeRecordsTheRunAndKillsStragglers(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	b, err := membroker.New(membroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{Profile: p, Handoff: Handoff{EndpointID: testEndpointID}, Dial: memDial(b),
			StopGrace: 3 * time.Second, Ready: func(err error) { up <- err }})
	}()
	if err := <-up; err != nil {
		t.Fatalf("not up: %v", err)
	}
	rec, ok, err := p.Run()
	if err != nil || !ok || rec.RunID == "" || rec.PID != os.Getpid() || rec.ProviderType != "local" || rec.StopGrace != 3*time.Second {
		t.Fatalf("run.json: %+v, %v, %v", rec, ok, err)
	}
	if st, _ := p.Status(); st.State != profile.Running {
		t.Fatalf("state while serving: %v", st.State)
	}
	var second error
	if err := Serve(ctx, Config{Profile: p, Handoff: Handoff{EndpointID: testEndpointID}, Dial: memDial(b),
		Ready: func(err error) { second = err }}); !errors.As(err, new(*profile.RunningError)) || second != err {
		t.Fatalf("a second Serve: %v (reported %v), want a RunningError", err, second)
	}
	straggler := startStraggler(t, rec.RunID)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := straggler.Wait(); err == nil {
		t.Fatal("the straggler exited by itself")
	}
	if st, _ := p.Status(); st.State != profile.Stopped {
		t.Fatalf("state after the stop: %v", st.State)
	}
	if _, ok, _ := p.Run(); ok {
		t.Fatal("run.json outlives a clean stop")
	}
	if log := readLog(t, p); !strings.Contains(log, "endpoint is up") || !strings.Contains(log, "outlived its blocks") || !strings.Contains(log, "endpoint stopped") {
		t.Fatalf("endpoint.log:\n%s", log)
	}
}

// startStraggler starts a process of run runID in a session of its own,
// as a task that daemonized would leave.
func startStraggler(t *testing.T, runID string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), profile.EnvRunID+"="+runID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}
