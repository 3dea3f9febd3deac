package container_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/broker"
	"github.com/funcx-go/funcx/internal/broker/membroker"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// A function registered with a container image runs in that image, and
// one registered without runs raw: from the SDK through the service, the
// broker (in process) and endpoint.Run to the containers.
func TestSDKFunctionRunsInItsImage(t *testing.T) {
	t.Parallel()
	needDocker(t)
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
	reg, err := cl.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: "containers"})
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
				WorkerMode: endpoint.WorkerModeDocker, ContainerRouting: endpoint.RoutingSoft,
				MaxWorkersPerNode: 3, CoresPerWorker: 0.1, WorkerCommand: []string{workerBin},
				Container:       endpoint.ContainerConfig{WorkerBinary: workerBin},
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
		if t.Failed() {
			dumpLogs(t, logDir)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("endpoint did not come up: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("endpoint not ready within a minute")
	}

	host, _ := os.Hostname()
	ex := cl.Executor(reg.EndpointID)
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
