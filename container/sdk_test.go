package container_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/endpointtest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/service/api"
)

// A function registered with a container image runs in that image, and
// one registered without runs raw: from the SDK through the service, the
// broker (in process) and endpoint.Run to the containers.
func TestSDKFunctionRunsInItsImage(t *testing.T) {
	t.Parallel()
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	logDir := t.TempDir()
	t.Cleanup(func() { // registered first, so run after the fabric has stopped
		if t.Failed() {
			dumpLogs(t, logDir)
		}
	})
	f := endpointtest.Start(t, "containers", endpoint.Config{
		WorkerMode: endpoint.WorkerModeDocker, ContainerRouting: endpoint.RoutingSoft,
		MaxWorkersPerNode: 3, CoresPerWorker: 0.1, WorkerCommand: []string{workerBin},
		Container: endpoint.ContainerConfig{WorkerBinary: workerBin},
		LogDir:    logDir, Logger: testlog.New(t, slog.LevelInfo),
	})
	cl := f.Client

	host, _ := os.Hostname()
	ex := cl.Executor(f.EndpointID)
	defer ex.Close()
	for _, image := range []string{"funcx-test-a", "funcx-test-b", ""} {
		fn, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "whereami", Kind: "go", GoName: "whereami", ContainerImage: image})
		if err != nil {
			t.Fatal(err)
		}
		r, err := ex.Submit(fn, struct{}{}).Result(ctx)
		if err != nil {
			t.Fatalf("image %q: %v", image, err)
		}
		var w where
		if err := r.Output(&w); err != nil {
			t.Fatal(err)
		}
		switch {
		case image == "" && (w.Image != "" || w.Hostname != host):
			t.Fatalf("a function without an image ran in %+v, want a plain process on %s", w, host)
		case image != "" && (w.Image != images[image] || w.Container != image || w.Hostname == host):
			t.Fatalf("a function of %s ran in %+v", image, w)
		}
	}
}
