package container_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/container/docker"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/interchange"
)

func TestDockerIdleContainersRetire(t *testing.T) {
	t.Parallel()
	needDocker(t)
	cfg := dockerConfig(endpoint.RoutingSoft, 2, 1)
	cfg.Container.WorkerMaxIdleTime = 300 * time.Millisecond
	e := startEngine(t, cfg)
	_, w := run(t, e, whereami("funcx-test-a"))
	checkInImage(t, e.RunID(), "funcx-test-a", w)
	waitRouting(t, e, func(s interchange.Stats) bool { return s.Routing.Retired >= 1 })
	deadline := time.Now().Add(time.Minute)
	for len(runContainers(t, e.RunID())) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the retired container is still there: %v", runContainers(t, e.RunID()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The next task of the image starts a new one.
	_, w2 := run(t, e, whereami("funcx-test-a"))
	checkInImage(t, e.RunID(), "funcx-test-a", w2)
	if w2.Hostname == w.Hostname {
		t.Fatalf("the retired container %s served again", w.Hostname)
	}
}

func TestDockerMissingImageFailsItsTasks(t *testing.T) {
	t.Parallel()
	needDocker(t)
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 1, 1))
	task := whereami("funcx-test-no-such-image")
	if err := e.Submit(task); err != nil {
		t.Fatal(err)
	}
	select {
	case rs := <-e.Results():
		r := rs[0]
		if r.State != funcx.StateFailed || r.Error == nil || r.Error.Kind != funcx.WorkerLost ||
			!strings.Contains(r.Error.Message, "funcx-test-no-such-image") || !strings.Contains(r.Error.Message, "not found") {
			t.Fatalf("got %s %v, want WorkerLost naming the missing image", r.State, r.Error)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no result for a task of a missing image")
	}
	// The manager still serves other images.
	_, w := run(t, e, whereami("funcx-test-b"))
	checkInImage(t, e.RunID(), "funcx-test-b", w)
}

func TestDockerOrphansOfDeadManagersAreRemoved(t *testing.T) {
	t.Parallel()
	needDocker(t)
	host, _ := os.Hostname()
	// A container left by a manager that is gone: a pid that cannot exist.
	out, err := exec.Command("docker", "create",
		"--label", container.LabelManaged+"=true", "--label", container.LabelHost+"="+host,
		"--label", container.LabelManagerPID+"=2147483647", "--label", container.LabelRun+"=orphan-test",
		"funcx-test-a", "/nothing").CombinedOutput()
	if err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 1, 1))
	run(t, e, whereami("funcx-test-a")) // the manager is up: it swept at start
	if left := runContainers(t, "orphan-test"); len(left) != 0 {
		t.Fatalf("orphan %s was not removed when a manager started", id)
	}
}

func TestDockerStopRemovesContainersOfAKilledManager(t *testing.T) {
	t.Parallel()
	needDocker(t)
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 1, 1))
	r, _ := run(t, e, whereami("funcx-test-a"))
	pid := 0
	for _, m := range e.Status().Interchange.Managers {
		if m.ID == r.Manager {
			pid = m.PID
		}
	}
	if pid == 0 {
		t.Fatalf("no pid for manager %s", r.Manager)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Stop (also run by the cleanup, which then finds it done) must sweep
	// the container the killed manager could not remove.
	if err := e.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("stop: %v", err)
	}
	if left := runContainers(t, e.RunID()); len(left) != 0 {
		t.Fatalf("containers of the killed manager left after Stop: %v", left)
	}
}

// Two sweeps of the same run at once (a dying manager's and the endpoint's
// clean-up) both succeed: a removal already in progress is waited for, not
// reported as a failure.
func TestDockerConcurrentRunRemovalsBothSucceed(t *testing.T) {
	t.Parallel()
	needDocker(t)
	d, err := docker.New(container.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for round := range 3 {
		runID := "concurrent-remove-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + string(rune('a'+round))
		for range 4 {
			out, err := exec.Command("docker", "create", "--label", container.LabelManaged+"=true",
				"--label", container.LabelRun+"="+runID, "funcx-test-a", "/nothing").CombinedOutput()
			if err != nil {
				t.Fatalf("docker create: %v: %s", err, out)
			}
			id := strings.TrimSpace(string(out))
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		errs := make(chan error, 2)
		for range 2 {
			go func() { _, err := d.RemoveRun(ctx, runID); errs <- err }()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("round %d: a concurrent sweep failed: %v", round, err)
			}
		}
		cancel()
		if left := runContainers(t, runID); len(left) != 0 {
			t.Fatalf("round %d: containers left: %v", round, left)
		}
	}
}
