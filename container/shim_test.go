package container_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint"
)

// Singularity/Apptainer and Shifter are not in Debian: shims in
// testdata/shims log their argv and run the worker as a local process.
// The tests assert the exact command lines the manager ran.

func shimConfig(t *testing.T, mode, shim string) (endpoint.Config, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "argv.log")
	t.Setenv("SHIM_LOG", log) // the manager, and so the shim, inherit it
	abs, err := filepath.Abs(filepath.Join("testdata", "shims", shim))
	if err != nil {
		t.Fatal(err)
	}
	return endpoint.Config{
		WorkerMode:        mode,
		ContainerRouting:  endpoint.RoutingHard,
		MaxWorkersPerNode: 1,
		Container: endpoint.ContainerConfig{
			Images:         []string{"funcx-test-a"},
			RuntimeCommand: abs,
			RunOptions:     []string{"--writable-tmpfs"},
			Binds:          []string{"/tmp:/scratch:ro"},
			GPUs:           true,
		},
		Provider: endpoint.ProviderConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 1},
	}, log
}

// shimLines waits for the shim's log and returns its lines, split at tabs.
func shimLines(t *testing.T, log string) [][]string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(log)
		if len(b) > 0 {
			var lines [][]string
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				lines = append(lines, strings.Split(l, "\t"))
			}
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shim never ran (no %s)", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sockDir finds the manager's socket directory in an argv: the bind
// whose path starts with the temporary directory's funcx-manager- prefix.
func sockDir(t *testing.T, argv []string) string {
	t.Helper()
	for _, a := range argv {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "--volume="), "--bind=")
		host, _, _ := strings.Cut(a, ":")
		if strings.HasPrefix(filepath.Base(host), "funcx-manager-") {
			return host
		}
	}
	t.Fatalf("no socket directory bound in %q", argv)
	return ""
}

func TestSingularityCommandLine(t *testing.T) {
	cfg, log := shimConfig(t, endpoint.WorkerModeSingularity, "apptainer")
	e := startEngine(t, cfg)
	_, w := run(t, e, whereami("funcx-test-a"))
	if w.Container != "funcx-test-a" {
		t.Fatalf("worker reports container type %q", w.Container)
	}
	argv := shimLines(t, log)[0]
	dir := sockDir(t, argv)
	want := []string{"apptainer", "exec", "--writable-tmpfs",
		"--bind", "/tmp:/scratch:ro",
		"--bind", dir + ":" + dir,
		"--bind", workerBin + ":" + workerBin + ":ro",
		"--nv", "funcx-test-a", workerBin}
	if strings.Join(argv, " ") != strings.Join(want, " ") {
		t.Fatalf("command line\n got %q\nwant %q", argv, want)
	}
}

func TestShifterCommandLine(t *testing.T) {
	cfg, log := shimConfig(t, endpoint.WorkerModeShifter, "shifter")
	e := startEngine(t, cfg)
	_, w := run(t, e, whereami("funcx-test-a"))
	if w.Container != "funcx-test-a" {
		t.Fatalf("worker reports container type %q", w.Container)
	}
	argv := shimLines(t, log)[0]
	dir := sockDir(t, argv)
	want := []string{"shifter", "--image=funcx-test-a",
		"--volume=/tmp:/scratch:ro",
		"--volume=" + dir + ":" + dir,
		"--volume=" + workerBin + ":" + workerBin + ":ro",
		"--module=gpu", "--writable-tmpfs", "--", workerBin}
	if strings.Join(argv, " ") != strings.Join(want, " ") {
		t.Fatalf("command line\n got %q\nwant %q", argv, want)
	}
}
