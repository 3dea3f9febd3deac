package container_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/endpointtest"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/service/api"
)

// Routing at work shows in the endpoint's status: under worker_mode
// singularity (the apptainer shim) with soft routing, the warm hits and
// cold starts of the manager's containers reach the SDK's EndpointStatus
// through endpoint.Run's heartbeats, the in-process broker and the
// service.
//
// Not parallel: the shim's log is in the environment.
func TestEndpointStatusShowsRouting(t *testing.T) {
	shimLog := filepath.Join(t.TempDir(), "argv.log")
	t.Setenv("SHIM_LOG", shimLog) // every manager and worker inherits it
	shim, err := filepath.Abs(filepath.Join("testdata", "shims", "apptainer"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	logDir := t.TempDir()
	// Registered first, so run after the fabric has stopped.
	t.Cleanup(func() {
		proctest.WaitGone(t, "SHIM_LOG", shimLog, 10*time.Second)
		if t.Failed() {
			dumpLogs(t, logDir)
		}
	})
	f := endpointtest.Start(t, "apptainer", endpoint.Config{
		WorkerMode: endpoint.WorkerModeSingularity, ContainerRouting: endpoint.RoutingSoft,
		MaxWorkersPerNode: 2, WorkerCommand: []string{workerBin},
		Container: endpoint.ContainerConfig{WorkerBinary: workerBin, RuntimeCommand: shim},
		Provider:  endpoint.ProviderConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 1},
		LogDir:    logDir, Logger: testlog.New(t, slog.LevelInfo),
	})
	cl := f.Client

	// One at a time: a (cold), a (warm), b (cold), a (warm).
	ex := cl.Executor(f.EndpointID)
	defer ex.Close()
	fns := map[string]string{}
	for _, image := range []string{"funcx-test-a", "funcx-test-a", "funcx-test-b", "funcx-test-a"} {
		if fns[image] == "" {
			if fns[image], err = cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "whereami", Kind: "go", GoName: "whereami", ContainerImage: image}); err != nil {
				t.Fatal(err)
			}
		}
		r, err := ex.Submit(fns[image], struct{}{}).Result(ctx)
		if err != nil {
			t.Fatalf("image %s: %v", image, err)
		}
		var w where
		if err := r.Output(&w); err != nil || w.Container != image {
			t.Fatalf("a task of %s ran in %+v (%v)", image, w, err)
		}
	}

	// The figures arrive with a later heartbeat.
	var ep *api.EndpointStatus
	for ep == nil || ep.Routing == nil || ep.Routing.Total.WarmHits < 2 || ep.Routing.Total.ColdStarts < 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("routing figures never reached the status; last %+v", ep)
		case <-time.After(100 * time.Millisecond):
		}
		if ep, err = cl.EndpointStatus(ctx, f.EndpointID); err != nil {
			t.Fatal(err)
		}
	}
	r := ep.Routing
	if len(r.Managers) != 1 {
		t.Fatalf("routing of %d managers, want the one: %+v", len(r.Managers), r)
	}
	m := r.Managers[0]
	if m.RoutingFigures != r.Total || m.Manager == "" || m.Block != "0" {
		t.Fatalf("manager %+v, total %+v", m, r.Total)
	}
	var types []string
	for _, c := range m.Containers {
		types = append(types, c.Container)
	}
	if s := strings.Join(types, " "); !strings.Contains(s, "funcx-test-a") {
		t.Fatalf("containers %q lack funcx-test-a", types)
	}
	if ep.BlockError != nil {
		t.Fatalf("scheduler error %+v on a healthy endpoint", ep.BlockError)
	}
	if ep.Blocks["running"] != 1 {
		t.Fatalf("blocks %v, want one running", ep.Blocks)
	}
	t.Logf("routing in the endpoint's status: %+v", *r)
}
