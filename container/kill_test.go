package container_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/container/docker"
)

// Kill returns once the container has stopped: right after it, the
// daemon no longer has it running, and Wait returns.
func TestDockerKillReturnsOnceStopped(t *testing.T) {
	t.Parallel()
	needDocker(t)
	d := newDockerRuntime(t)
	inst, name := startSleeper(t, d)
	if err := inst.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if st := dockerState(t, name); st == "running" || st == "paused" || st == "restarting" {
		t.Fatalf("Kill returned while the container is %s", st)
	}
	if err := inst.Wait(); err == nil {
		t.Fatal("Wait after Kill: nil, want the kill's exit error")
	}
	if st := dockerState(t, name); st != "" {
		t.Fatalf("after Wait the container is %s, want removed", st)
	}
}

// A kill the daemon answers with an error (as dockerd does when the
// container's process does not exit) leaves the container running: Kill
// says so, rather than report a success while it runs.
func TestDockerKillReportsAContainerStillRunning(t *testing.T) {
	t.Parallel()
	needDocker(t)
	d := newDockerRuntime(t)
	failDockerKills(t, d)
	inst, name := startSleeper(t, d)
	err := inst.Kill()
	if st := dockerState(t, name); st != "running" {
		t.Fatalf("the test needs the container running after the failed kill; it is %q", st)
	}
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Kill of a container that still runs: %v, want an error saying it is still running", err)
	}
	if out, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
		t.Fatalf("docker rm -f: %v: %s", err, out)
	}
	var exit *container.ExitError
	if err := inst.Wait(); !errors.As(err, &exit) {
		t.Fatalf("Wait after the container was removed: %v, want an *ExitError", err)
	}
}

func newDockerRuntime(t *testing.T) *docker.Runtime {
	t.Helper()
	d, err := docker.New(container.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// startSleeper starts a container of funcx-test-a that runs until it is
// killed, removed at the end of the test whatever happens.
func startSleeper(t *testing.T, d *docker.Runtime) (container.Instance, string) {
	t.Helper()
	name := fmt.Sprintf("funcx-test-kill-%x", rand.Uint64())
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst, err := d.Start(ctx, container.Spec{
		Image: "funcx-test-a", Name: name, Command: []string{workerBin, "sleep"},
		Binds: []container.Bind{{Host: workerBin, Container: workerBin, ReadOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return inst, name
}

// dockerState is the container's state as the daemon reports it
// ("running", "exited"...), or "" once it no longer exists.
func dockerState(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}}", name).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No such") {
			return ""
		}
		t.Fatalf("docker inspect %s: %v: %s", name, err, out)
	}
	return strings.TrimSpace(string(out))
}
