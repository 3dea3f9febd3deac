package daemon

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
)

// spawn starts this test binary as the daemon of p in mode (see
// serveAsChild), with the client secret in its environment, which Spawn
// must remove.
func spawn(t *testing.T, p *profile.Profile, mode string, h Handoff) (int, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), envChild+"="+mode, client.EnvClientSecret+"=secret", client.EnvHome+"=/elsewhere")
	return Spawn(context.Background(), SpawnConfig{Profile: p, Handoff: h, Path: exe, Args: []string{p.Name}, Env: env})
}

// Spawn hands the registration to the daemon (never the client secret)
// and returns once it is up; Stop stops it and waits until it is gone.
func TestSpawnThenStop(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	pid, err := spawn(t, p, "serve", Handoff{EndpointID: testEndpointID})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	st, err := p.Status()
	if err != nil || st.State != profile.Running || st.PID != pid {
		t.Fatalf("after spawn: %+v, %v; want Running as pid %d", st, err, pid)
	}
	if log := readLog(t, p); !strings.Contains(log, "endpoint="+testEndpointID) {
		t.Fatalf("the daemon did not serve the handed-over endpoint:\n%s", log)
	}
	var events []StopEvent
	rep, err := Stop(context.Background(), p, StopConfig{Progress: func(s StopProgress) { events = append(events, s.Event) }})
	if err != nil || rep.PID != pid || rep.Cleanup != nil {
		t.Fatalf("stop: %+v, %v", rep, err)
	}
	if len(events) == 0 || events[0] != StopSignalled {
		t.Fatalf("stop events %v: want StopSignalled first", events)
	}
	if st, _ := p.Status(); st.State != profile.Stopped {
		t.Fatalf("after stop: %v", st.State)
	}
	if rep, err := Stop(context.Background(), p, StopConfig{}); err != nil || rep.PID != 0 || rep.Cleanup != nil {
		t.Fatalf("second stop: %+v, %v; want nothing done", rep, err)
	}
}

// A daemon that cannot start says why through Spawn.
func TestSpawnReportsTheDaemonsError(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	_, err := spawn(t, p, "unreachable", Handoff{EndpointID: testEndpointID, Broker: api.BrokerCredentials{URL: "amqp://127.0.0.1:1/"}})
	if err == nil || !strings.Contains(err.Error(), "is not up after 1s: cannot reach the broker") {
		t.Fatalf("spawn: %v", err)
	}
	if st, _ := p.Status(); st.State != profile.Stopped {
		t.Fatalf("after a failed start: %v", st.State)
	}
}

// A daemon that dies without a report: Spawn shows the end of its log,
// where its stderr went.
func TestSpawnShowsTheLogOfASilentDeath(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	_, err := spawn(t, p, "silent", Handoff{EndpointID: testEndpointID})
	if err == nil || !strings.Contains(err.Error(), errSilent) || !strings.Contains(err.Error(), "boom: the child dies without a report: <nil>") {
		t.Fatalf("spawn: %v", err)
	}
}

func TestChildEnv(t *testing.T) {
	t.Parallel()
	got := childEnv([]string{"PATH=/bin", client.EnvClientSecret + "=s", client.EnvClientID + "=i", client.EnvHome + "=/old", "A=b=c"}, "/home/x")
	want := []string{"PATH=/bin", "A=b=c", client.EnvHome + "=/home/x"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
