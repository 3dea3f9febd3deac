package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/service/api"
)

// catSource is a static cat for images FROM scratch, which have no shell
// and no coreutils: a task that runs it shows which image it ran in.
const catSource = `package main

import "os"

func main() {
	for _, name := range os.Args[1:] {
		b, err := os.ReadFile(name)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.Write(b)
	}
}
`

// testImages builds two images FROM scratch, tagged for this test only,
// each holding /funcx-image (its name: "a" or "b", a file only it has)
// and /funcx-cat; the test's cleanup removes them. It fails without
// dockerd (skips under -short).
func testImages(t *testing.T) map[string]string {
	t.Helper()
	needs.Services(t, needs.Docker)
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("docker does not answer (%v: %s): run scripts/start-services.sh as root, which installs and starts dockerd", err, strings.TrimSpace(string(out)))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(catSource), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "funcx-cat"), "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the static cat: %v\n%s", err, out)
	}
	prefix := fmt.Sprintf("funcx-e2e-cli-%d-%d-", os.Getpid(), time.Now().UnixNano())
	tags := map[string]string{}
	for _, name := range []string{"a", "b"} {
		tag := prefix + name
		ctx := filepath.Join(dir, name)
		if err := os.MkdirAll(ctx, 0o755); err != nil {
			t.Fatal(err)
		}
		cat, err := os.ReadFile(filepath.Join(dir, "funcx-cat"))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"Dockerfile":  "FROM scratch\nCOPY funcx-image /funcx-image\nCOPY funcx-cat /funcx-cat\n",
			"funcx-image": name + "\n",
			"funcx-cat":   string(cat),
		}
		for f, content := range files {
			if err := os.WriteFile(filepath.Join(ctx, f), []byte(content), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("docker", "build", "-q", "-t", tag, ctx)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker build %s: %v: %s", tag, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
		tags[name] = tag
	}
	return tags
}

// dockerContainer is a container as docker ps shows it.
type dockerContainer struct{ id, image, state string }

// runContainers lists the funcx containers of an endpoint run, running or
// not, by the labels the managers put on them.
func runContainers(t *testing.T, runID string) []dockerContainer {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--no-trunc",
		"--filter", "label="+container.LabelManaged+"=true", "--filter", "label="+container.LabelRun+"="+runID,
		"--format", "{{.ID}} {{.Image}} {{.State}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	var cs []dockerContainer
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) == 3 {
			cs = append(cs, dockerContainer{id: f[0], image: f[1], state: f[2]})
		}
	}
	return cs
}

// removeRunContainers is the tests' last line of defence: docker rm -f of
// whatever containers of the runs are left.
func removeRunContainers(t *testing.T, runIDs []string) {
	for _, run := range runIDs {
		for _, c := range runContainers(t, run) {
			_ = exec.Command("docker", "rm", "-f", c.id).Run()
		}
	}
}

// inImages runs the cat function in each image and checks that each task
// ran in a container of its image that belongs to the run: its
// /funcx-image names the image, and its hostname (the container's ID)
// is a container of the run with that image.
func inImages(t *testing.T, ctx context.Context, cl *client.Client, ex *client.Executor, runID string, images map[string]string) {
	t.Helper()
	for _, name := range []string{"a", "b", "a", "b"} {
		fn, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "cat-" + name, Kind: "shell",
			Argv: []string{"/funcx-cat", "/funcx-image", "/etc/hostname"}, ContainerImage: images[name]})
		if err != nil {
			t.Fatal(err)
		}
		r, err := ex.Submit(fn, nil).Result(ctx)
		if err != nil {
			t.Fatalf("a task in image %s: %v", images[name], err)
		}
		lines := strings.Fields(string(r.Stdout()))
		if r.ExitCode() != 0 || len(lines) != 2 || lines[0] != name {
			t.Fatalf("a task in image %s printed %q (stderr %q, exit %d), want %q and its hostname", images[name], r.Stdout(), r.Stderr(), r.ExitCode(), name)
		}
		var in *dockerContainer
		cs := runContainers(t, runID)
		for i, c := range cs {
			if strings.HasPrefix(c.id, lines[1]) {
				in = &cs[i]
			}
		}
		if in == nil || in.image != images[name] {
			t.Fatalf("a task in image %s ran on host %q, which is no container of that image in run %s: %+v", images[name], lines[1], runID, cs)
		}
	}
}

// Issue 6: with worker_mode = "docker" tasks run in containers of their
// functions' images, and `funcx-endpoint stop` leaves no container of the
// run (docker ps -a by our labels is empty) and no process.
func TestEndpointWithDockerStopLeavesNoContainer(t *testing.T) {
	needs.Services(t, needs.RabbitMQ, needs.Docker)
	t.Parallel()
	images := testImages(t)
	w := startWorld(t)
	var runIDs []string
	t.Cleanup(func() { removeRunContainers(t, runIDs) }) // after the daemons are killed

	// build made the funcx-endpoint binary static (CGO_ENABLED=0): it is
	// the worker mounted into images FROM scratch.
	w.configureWith(t, fmt.Sprintf(`max_workers_per_node = 2
heartbeat_period = "1s"
heartbeat_threshold = "10s"
worker_mode = "docker"
container_routing = "soft"

[container]
worker_binary = %q
worker_max_idletime = "10m"

[provider]
init_blocks = 1
min_blocks = 1
max_blocks = 1
`, w.endpointBin))

	ep := w.start(t)
	runIDs = append(runIDs, ep.runID)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := w.client(t)
	ex := cl.Executor(ep.endpointID)
	defer ex.Close()
	inImages(t, ctx, cl, ex, ep.runID, images)
	if cs := runContainers(t, ep.runID); len(cs) != 2 {
		t.Fatalf("containers of the run: %+v, want one per image (warm ones are reused)", cs)
	}

	o := w.run(t, "stop")
	if o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	if ep.daemon.Alive() {
		t.Fatalf("daemon %d still runs after stop", ep.daemon.PID)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" || row[2] != ep.endpointID {
		t.Fatalf("after stop: %q", row)
	}
	// Checked at once: stop returns when the daemon has removed them.
	if cs := runContainers(t, ep.runID); len(cs) != 0 {
		t.Fatalf("containers of the run remain after stop: %+v", cs)
	}
	var procs []int
	if !eventually(time.Minute, func() bool { procs = profile.RunProcesses(ep.runID); return len(procs) == 0 }) {
		t.Fatalf("processes %v of the run remain after stop", procs)
	}

	// A crash that takes the managers down with the daemon (kill -9 of
	// them all, as the OOM killer or a reboot does) leaves the containers:
	// no manager is left to remove them. The clean-up of the Disconnected
	// profile, by the next start or by stop, removes them.
	for _, next := range []string{"start", "stop"} {
		crashed := w.start(t)
		runIDs = append(runIDs, crashed.runID)
		inImages(t, ctx, cl, ex, crashed.runID, images)
		// The managers are frozen first, so that none sees its daemon go
		// (and removes its containers) and the daemon sees no block end
		// (and starts another, whose manager would sweep the orphans).
		w.killed(t, crashed, true)
		// Both are usually still there; once in a CI run only one was, so
		// what matters is that some are, for the clean-up to remove.
		orphans := runContainers(t, crashed.runID)
		if len(orphans) == 0 {
			t.Fatalf("no container of the crashed run is left for the clean-up to remove")
		}
		t.Logf("containers of the crashed run before the clean-up: %+v", orphans)
		o := w.run(t, next)
		if o.code != 0 || !strings.Contains(o.stderr, "was not stopped cleanly: cleaned up") {
			t.Fatalf("%s after the crash: %+v", next, o)
		}
		var restarted started
		if next == "start" {
			restarted = w.running(t)
			runIDs = append(runIDs, restarted.runID)
		}
		// The clean-up says how many it removed. Another test's manager
		// starting on this host meanwhile sweeps the containers of any
		// dead manager (docker.RemoveOrphans), so some (once in CI, all)
		// may be gone before the clean-up looks; none may remain.
		if removed := removedContainers(o.stderr, crashed.runID); removed > len(orphans) {
			t.Errorf("%s says it removed %d containers of the crashed run, which had %d: %q", next, removed, len(orphans), o.stderr)
		} else if removed == 0 {
			t.Logf("another manager's orphan sweep removed the crashed run's containers before %s did: %q", next, o.stderr)
		}
		// Checked at once, and the message says the clean-up removed
		// them: no sweep of orphans by a new manager is waited for (after
		// stop, none starts).
		if cs := runContainers(t, crashed.runID); len(cs) != 0 {
			t.Fatalf("containers of the crashed run remain after %s: %+v", next, cs)
		}
		if next == "start" {
			if restarted.endpointID != ep.endpointID || restarted.runID == crashed.runID {
				t.Fatalf("after the crash, start runs %+v: want endpoint %s again, in a new run", restarted, ep.endpointID)
			}
			inImages(t, ctx, cl, ex, restarted.runID, images)
			if o := w.run(t, "stop"); o.code != 0 {
				t.Fatalf("stop: %+v", o)
			}
		}
	}
	for _, run := range runIDs {
		if cs := runContainers(t, run); len(cs) != 0 {
			t.Errorf("containers of run %s remain: %+v", run, cs)
		}
		if procs := profile.RunProcesses(run); len(procs) != 0 {
			t.Errorf("processes %v of run %s remain", procs, run)
		}
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" {
		t.Fatalf("at the end: %q", row)
	}
}

// removedContainers is the number of containers of run runID that a
// clean-up's summary says it removed; 0 if it names none.
func removedContainers(summary, runID string) int {
	m := regexp.MustCompile(`removed (\d+) leftover containers? of run ` + regexp.QuoteMeta(runID)).FindStringSubmatch(summary)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
