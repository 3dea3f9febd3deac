package container_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/endpoint"
	// The test binary serves the manager role with every runtime.
	_ "github.com/funcx-go/funcx/endpoint/backends"
	"github.com/funcx-go/funcx/internal/needs"
)

// The test binary is the manager of the engines these tests start (and the
// worker of RAW tasks); the worker inside containers is testdata/worker,
// built static in TestMain, since images FROM scratch hold no C library.

var (
	workerBin string // the static worker binary
	imagesDir string // where the Docker images' contexts are written

	imagesOnce sync.Once
	imagesErr  error // why the Docker images could not be built
)

// Test images: FROM scratch, each with a /funcx-image file naming it.
var images = map[string]string{"funcx-test-a": "a", "funcx-test-b": "b"}

func TestMain(m *testing.M) {
	endpoint.ServeChildRole()
	dir, err := os.MkdirTemp("", "funcx-container-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workerBin, imagesDir = filepath.Join(dir, "funcx-worker"), dir
	build := exec.Command("go", "build", "-o", workerBin, "./testdata/worker")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the static test worker: %v\n%s", err, out)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// buildImages builds the test images with the docker CLI.
func buildImages(dir string) error {
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		return fmt.Errorf("docker does not answer (%v: %s): run scripts/start-services.sh, which installs and starts dockerd", err, bytes.TrimSpace(out))
	}
	for tag, content := range images {
		ctx := filepath.Join(dir, tag)
		if err := os.MkdirAll(ctx, 0o755); err != nil {
			return err
		}
		df := "FROM scratch\nCOPY funcx-image /funcx-image\nLABEL org.funcx.test-image=" + content + "\n"
		if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(ctx, "funcx-image"), []byte(content+"\n"), 0o644); err != nil {
			return err
		}
		cmd := exec.Command("docker", "build", "-q", "-t", tag, ctx)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("docker build %s: %v: %s", tag, err, out)
		}
	}
	return nil
}

// needDocker skips the test under -short and fails it when dockerd or
// the images are missing; the first test that needs them builds them.
func needDocker(t *testing.T) {
	t.Helper()
	needs.Services(t, needs.Docker)
	imagesOnce.Do(func() { imagesErr = buildImages(imagesDir) })
	if imagesErr != nil {
		t.Fatal(imagesErr)
	}
}

// runContainers lists the containers of an endpoint run, running or not.
func runContainers(t *testing.T, runID string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=org.funcx.run="+runID).CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	return strings.Fields(string(out))
}
