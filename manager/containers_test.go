package manager_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	_ "github.com/funcx-go/funcx/container/singularity" // the shim stands in for apptainer
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/manager"
)

// The soft-routing logic of a container manager, through the apptainer
// shim of package container (it runs the worker as a local process), so
// that it is tested without a Docker daemon: cold starts, warm hits,
// switches when every slot is taken, idle retirement and images that do
// not start.

// buildStaticWorker builds examples/custom-worker with CGO_ENABLED=0 into
// the test's temporary directory (the build cache makes repeats cheap).
func buildStaticWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "funcx-worker")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/funcx-go/funcx/examples/custom-worker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build a static worker: %v: %s", err, out)
	}
	return bin
}

func shimManager(t *testing.T, slots int, maxIdle time.Duration) *bundle {
	t.Helper()
	bin := buildStaticWorker(t)
	shim, err := filepath.Abs("../container/testdata/shims/apptainer")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHIM_LOG", filepath.Join(t.TempDir(), "argv.log"))
	b := setup(t, func(c *manager.Config) {
		c.MaxWorkers = slots
		c.CoresPerWorker = 0.1
		c.Container = manager.ContainerConfig{Runtime: "singularity", RuntimeCommand: shim, WorkerBinary: bin, MaxIdle: maxIdle}
	})
	start(t, context.Background(), b.cfg)
	waitFor(t, "the manager", func() bool { return len(b.ix.Stats().Managers) == 1 })
	return b
}

// runIn runs one echo task in image and returns its result.
func runIn(t *testing.T, b *bundle, image string) funcx.Result {
	t.Helper()
	task := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("echo"), Args: []byte(`"x"`), Container: image}
	if err := b.ix.Submit(task); err != nil {
		t.Fatal(err)
	}
	return collect(t, b.ix, 1)[task.ID]
}

func routingFigures(b *bundle) interchange.RoutingFigures { return b.ix.Stats().Routing }

func TestSoftContainerManager(t *testing.T) {
	b := shimManager(t, 2, time.Hour)
	for _, img := range []string{"a.sif", "b.sif", "a.sif", "a.sif"} {
		if r := runIn(t, b, img); r.State != funcx.StateSuccess {
			t.Fatalf("task in %s: %v", img, r.Error)
		}
	}
	waitFor(t, "2 cold starts and 2 warm hits", func() bool {
		f := routingFigures(b)
		return f.ColdStarts == 2 && f.WarmHits == 2 && f.Switches == 0
	})
	// Both slots are taken: c.sif evicts the longest-idle, b.sif.
	if r := runIn(t, b, "c.sif"); r.State != funcx.StateSuccess {
		t.Fatalf("task in c.sif: %v", r.Error)
	}
	waitFor(t, "a switch", func() bool { f := routingFigures(b); return f.Switches == 1 && f.ColdStarts == 3 })
	waitFor(t, "a and c warm, b gone", func() bool {
		types := map[string]int{}
		for _, c := range b.ix.Stats().Managers[0].Containers {
			types[c.Container] = c.Workers
		}
		return len(types) == 2 && types["a.sif"] == 1 && types["c.sif"] == 1
	})
	// RAW tasks get a plain worker process, here by evicting a.sif.
	if r := runIn(t, b, ""); r.State != funcx.StateSuccess {
		t.Fatalf("RAW task: %v", r.Error)
	}
	waitFor(t, "a second switch", func() bool { return routingFigures(b).Switches == 2 })
}

func TestSoftContainerManagerRetiresIdleContainers(t *testing.T) {
	b := shimManager(t, 2, 200*time.Millisecond)
	if r := runIn(t, b, "a.sif"); r.State != funcx.StateSuccess {
		t.Fatalf("task: %v", r.Error)
	}
	waitFor(t, "the idle container retired", func() bool {
		s := b.ix.Stats()
		return s.Routing.Retired == 1 && len(s.Managers[0].Containers) == 0
	})
}

func TestSoftContainerManagerFailsTasksOfABrokenImage(t *testing.T) {
	b := shimManager(t, 1, time.Hour)
	r := runIn(t, b, "/nonexistent/broken.sif")
	if r.State != funcx.StateFailed || r.Error == nil || r.Error.Kind != funcx.WorkerLost || !strings.Contains(r.Error.Message, "no container of /nonexistent/broken.sif could start") {
		t.Fatalf("got %s %v, want WorkerLost: no container could start", r.State, r.Error)
	}
	waitFor(t, "3 start failures", func() bool { return routingFigures(b).StartFailures == 3 })
	// The slot serves other images afterwards.
	if r := runIn(t, b, "ok.sif"); r.State != funcx.StateSuccess {
		t.Fatalf("task after the broken image: %v", r.Error)
	}
}
