package container_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/broker"
	"github.com/funcx-go/funcx/internal/broker/membroker"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
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

	brk, err := membroker.New(membroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(t.TempDir(), "service.db")})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Store: st, Broker: brk, Logger: testlog.New(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); _ = svc.Serve(serveCtx, ln) }()
	id, secret, err := svc.AddIdentity(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(client.Config{ServiceURL: "http://" + ln.Addr().String(), ClientID: id, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cl.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: "apptainer"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cl.DeleteEndpoint(context.Background(), reg.EndpointID)
		_ = cl.Close()
		stopServe()
		<-served
		_ = svc.Stop(context.Background())
		_ = brk.Close()
		_ = st.Close()
	})
	b := reg.Broker
	creds := broker.Credentials{URL: b.URL, Username: b.Username, Password: b.Password, TaskQueue: b.TaskQueue, ResultExchange: b.ResultExchange}

	logDir := t.TempDir()
	runCtx, stopRun := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- endpoint.Run(runCtx, endpoint.RunConfig{
			Config: endpoint.Config{
				WorkerMode: endpoint.WorkerModeSingularity, ContainerRouting: endpoint.RoutingSoft,
				MaxWorkersPerNode: 2, WorkerCommand: []string{workerBin},
				Container:       endpoint.ContainerConfig{WorkerBinary: workerBin, RuntimeCommand: shim},
				Provider:        endpoint.ProviderConfig{InitBlocks: 1, MinBlocks: 1, MaxBlocks: 1},
				HeartbeatPeriod: 200 * time.Millisecond, HeartbeatThreshold: 10 * time.Second,
				LogDir: logDir, Logger: testlog.New(t, slog.LevelInfo),
			},
			EndpointID: reg.EndpointID, JournalPath: filepath.Join(t.TempDir(), "journal.db"), StopGrace: 5 * time.Second,
			Dial:  func(ctx context.Context) (broker.EndpointConn, error) { return brk.DialEndpoint(ctx, creds) },
			Ready: func() { close(ready) },
		})
	}()
	t.Cleanup(func() {
		stopRun()
		if err := <-done; err != nil {
			t.Errorf("endpoint.Run: %v", err)
		}
		proctest.WaitGone(t, "SHIM_LOG", shimLog, 10*time.Second)
		if t.Failed() {
			dumpLogs(t, logDir)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("endpoint did not come up: %v", err)
	case <-ctx.Done():
		t.Fatal("endpoint not ready")
	}

	// One at a time: a (cold), a (warm), b (cold), a (warm).
	ex := cl.Executor(reg.EndpointID)
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
		if ep, err = cl.EndpointStatus(ctx, reg.EndpointID); err != nil {
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
