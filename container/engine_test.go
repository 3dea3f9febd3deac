package container_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/manager"
)

// where is the test worker's "whereami" answer.
type where struct {
	Hostname  string `json:"hostname"`
	Image     string `json:"image"`
	Container string `json:"container"`
}

// startEngine runs an engine and checks, when the test ends, that Stop
// leaves no process and no container of the run behind.
func startEngine(t *testing.T, cfg endpoint.Config) *endpoint.Engine {
	t.Helper()
	cfg.Logger = testlog.New(t, slog.LevelInfo)
	cfg.HeartbeatPeriod, cfg.HeartbeatThreshold = 200*time.Millisecond, 10*time.Second
	cfg.LogDir = t.TempDir()
	cfg.ManagerLogLevel = "debug"
	if cfg.Container.WorkerBinary == "" {
		cfg.Container.WorkerBinary = workerBin
	}
	cfg.WorkerCommand = []string{workerBin} // RAW tasks call whereami too
	e, err := endpoint.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		proctest.WaitGone(t, manager.EnvRunID, e.RunID(), 10*time.Second)
		if cfg.WorkerMode == endpoint.WorkerModeDocker {
			if left := runContainers(t, e.RunID()); len(left) > 0 {
				t.Errorf("containers left after Stop: %v", left)
			}
		}
		if t.Failed() || os.Getenv("FUNCX_TEST_DUMP_LOGS") != "" {
			dumpLogs(t, cfg.LogDir)
		}
	})
	return e
}

// dumpLogs shows the managers' logs of a failed test.
func dumpLogs(t *testing.T, dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			t.Logf("--- %s\n%s", path, b)
		}
		return nil
	})
}

// whereami makes a task of the test worker's whereami in image (RAW if "").
func whereami(image string) funcx.Task {
	return funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("whereami"), Args: []byte("{}"), Container: image}
}

// run submits one task and waits for its result.
func run(t *testing.T, e *endpoint.Engine, task funcx.Task) (funcx.Result, where) {
	t.Helper()
	if err := e.Submit(task); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case batch := <-e.Results():
			for _, r := range batch {
				if r.TaskID != task.ID {
					t.Fatalf("result of an unknown task %s", r.TaskID)
				}
				if r.State != funcx.StateSuccess {
					t.Fatalf("task in %s failed: %v", task.ContainerName(), r.Error)
				}
				var w where
				if err := json.Unmarshal(r.Output, &w); err != nil {
					t.Fatalf("output %q: %v", r.Output, err)
				}
				return r, w
			}
		case <-deadline:
			t.Fatalf("no result for a task in %s; status %+v", task.ContainerName(), e.Status().Interchange)
		}
	}
}

// checkInImage asserts that a whereami result came from a container of
// image in this run.
func checkInImage(t *testing.T, runID, image string, w where) {
	t.Helper()
	if w.Image != images[image] || w.Container != image {
		t.Fatalf("task for %s ran in image %q (container type %q)", image, w.Image, w.Container)
	}
	found := false
	for _, id := range runContainers(t, runID) {
		found = found || strings.HasPrefix(id, w.Hostname)
	}
	if !found {
		t.Fatalf("task for %s ran on host %q, which is no container of the run", image, w.Hostname)
	}
}

// waitRouting waits until the managers' figures satisfy ok; the figures
// travel in status frames, after the results.
func waitRouting(t *testing.T, e *endpoint.Engine, ok func(interchange.Stats) bool) interchange.Stats {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := e.Status().Interchange
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("routing figures never reached the expected state: %+v", s.Routing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dockerConfig(routing string, workers, blocks int) endpoint.Config {
	return endpoint.Config{
		WorkerMode:        endpoint.WorkerModeDocker,
		ContainerRouting:  routing,
		MaxWorkersPerNode: workers,
		CoresPerWorker:    0.1, // the workers are idle most of the time
		Container:         endpoint.ContainerConfig{WorkerMaxIdleTime: 10 * time.Minute},
		Provider:          endpoint.ProviderConfig{InitBlocks: blocks, MinBlocks: blocks, MaxBlocks: blocks},
	}
}

func TestDockerSoftRunsTasksInTheirImagesAndReusesContainers(t *testing.T) {
	t.Parallel()
	needDocker(t)
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 3, 1))
	host, _ := os.Hostname()

	_, wa := run(t, e, whereami("funcx-test-a"))
	checkInImage(t, e.RunID(), "funcx-test-a", wa)
	_, wb := run(t, e, whereami("funcx-test-b"))
	checkInImage(t, e.RunID(), "funcx-test-b", wb)
	if wa.Hostname == wb.Hostname {
		t.Fatalf("images a and b ran in the same container %s", wa.Hostname)
	}
	_, raw := run(t, e, whereami(""))
	if raw.Image != "" || raw.Hostname != host {
		t.Fatalf("a task without an image ran in %+v, want a plain process on %s", raw, host)
	}

	// Warm containers serve the next tasks of their image.
	for range 5 {
		waitRouting(t, e, func(s interchange.Stats) bool { return idle(s, "funcx-test-a") > 0 })
		_, w := run(t, e, whereami("funcx-test-a"))
		if w.Hostname != wa.Hostname {
			t.Fatalf("a task of image a started container %s instead of reusing the warm %s", w.Hostname, wa.Hostname)
		}
	}
	s := waitRouting(t, e, func(s interchange.Stats) bool { return s.Routing.WarmHits >= 5 })
	if s.Routing.ColdStarts != 3 || s.Routing.Switches != 0 { // a, b and the RAW worker
		t.Fatalf("figures %+v: want 3 cold starts, no switch", s.Routing)
	}
	if n := len(runContainers(t, e.RunID())); n != 2 {
		t.Fatalf("%d containers run, want 2 (one per image)", n)
	}
}

func TestDockerSoftSwitchesWhenEverySlotIsTaken(t *testing.T) {
	t.Parallel()
	needDocker(t)
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 1, 1))
	for _, img := range []string{"funcx-test-a", "funcx-test-b", "funcx-test-a"} {
		_, w := run(t, e, whereami(img))
		checkInImage(t, e.RunID(), img, w)
	}
	s := waitRouting(t, e, func(s interchange.Stats) bool { return s.Routing.Switches >= 2 })
	if s.Routing.ColdStarts != 3 || s.Routing.Switches != 2 {
		t.Fatalf("figures %+v: want 3 cold starts and 2 switches on one slot", s.Routing)
	}
}

func TestDockerSoftPrefersTheManagerWithAWarmContainer(t *testing.T) {
	t.Parallel()
	needDocker(t)
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 2, 2))
	waitRouting(t, e, func(s interchange.Stats) bool { return len(s.Managers) == 2 })
	first, w0 := run(t, e, whereami("funcx-test-b"))
	for range 6 {
		waitRouting(t, e, func(s interchange.Stats) bool { return idle(s, "funcx-test-b") > 0 })
		r, w := run(t, e, whereami("funcx-test-b"))
		if r.Manager != first.Manager || w.Hostname != w0.Hostname {
			t.Fatalf("task went to manager %s (container %s), not to %s with the warm container %s", r.Manager, w.Hostname, first.Manager, w0.Hostname)
		}
	}
	s := waitRouting(t, e, func(s interchange.Stats) bool { return s.Routing.WarmHits >= 6 })
	if s.Routing.ColdStarts != 1 {
		t.Fatalf("figures %+v: want one cold start", s.Routing)
	}
}

func TestDockerHardRoutingKeepsTypesApart(t *testing.T) {
	t.Parallel()
	needDocker(t)
	cfg := dockerConfig(endpoint.RoutingHard, 1, 1)
	cfg.Container.Images = []string{"funcx-test-a", "funcx-test-b"}
	e := startEngine(t, cfg)
	// The managers serve one type each: RAW, a and b.
	s := waitRouting(t, e, func(s interchange.Stats) bool { return len(s.Managers) == 3 })
	typeOf := map[string]string{}
	for _, m := range s.Managers {
		typ := ""
		if len(m.ContainerTypes) == 1 {
			typ = m.ContainerTypes[0]
		}
		typeOf[m.ID] = typ
	}
	for i := range 12 {
		img := []string{"funcx-test-a", "funcx-test-b", ""}[i%3]
		r, w := run(t, e, whereami(img))
		if typeOf[r.Manager] != img {
			t.Fatalf("a task of %q ran on manager %s, which serves %q", img, r.Manager, typeOf[r.Manager])
		}
		if img != "" {
			checkInImage(t, e.RunID(), img, w)
		} else if w.Image != "" {
			t.Fatalf("a RAW task ran in image %q", w.Image)
		}
	}
	if st := e.Status(); len(st.BlocksByImage) != 2 {
		t.Fatalf("blocks by image %v, want a and b", st.BlocksByImage)
	}
	// An image no manager serves is answered at once, not left waiting.
	task := whereami("funcx-test-b:other")
	if err := e.Submit(task); err != nil {
		t.Fatal(err)
	}
	select {
	case rs := <-e.Results():
		if r := rs[0]; r.TaskID != task.ID || r.Error == nil || r.Error.Kind != funcx.InvalidTask || !strings.Contains(r.Error.Message, "container.images") {
			t.Fatalf("got %+v, want InvalidTask naming container.images", r)
		}
	case <-time.After(time.Minute):
		t.Fatal("a task of an unserved image got no answer")
	}
}

// idle is how many idle warm containers of image the managers report.
func idle(s interchange.Stats, image string) int {
	n := 0
	for _, m := range s.Managers {
		for _, c := range m.Containers {
			if c.Container == image {
				n += c.Idle
			}
		}
	}
	return n
}

// Under hard routing blocks scale per image: work for one image starts a
// block of that image only.
func TestDockerHardRoutingScalesPerImage(t *testing.T) {
	t.Parallel()
	needDocker(t)
	cfg := dockerConfig(endpoint.RoutingHard, 1, 0)
	cfg.Provider.MaxBlocks = 1
	cfg.Container.Images = []string{"funcx-test-a", "funcx-test-b"}
	e := startEngine(t, cfg)
	r, w := run(t, e, whereami("funcx-test-b"))
	checkInImage(t, e.RunID(), "funcx-test-b", w)
	s := e.Status()
	if len(s.Interchange.Managers) != 1 || s.Interchange.Managers[0].ID != r.Manager {
		t.Fatalf("managers %+v: want only the one of image b", s.Interchange.Managers)
	}
	if got := s.Interchange.Managers[0].ContainerTypes; len(got) != 1 || got[0] != "funcx-test-b" {
		t.Fatalf("the manager serves %v, want funcx-test-b", got)
	}
	if n := len(s.BlocksByImage["funcx-test-a"].Blocks); n != 0 {
		t.Fatalf("image a has %d blocks without work", n)
	}
	if n := len(s.Blocks.Blocks); n != 0 {
		t.Fatalf("RAW has %d blocks without work", n)
	}
}
