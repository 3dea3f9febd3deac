package endpointtest_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/endpointtest"
	"github.com/funcx-go/funcx/service/api"
)

func TestMain(m *testing.M) {
	endpoint.ServeChildRole() // the engine's managers and workers re-execute this binary
	goleak.VerifyTestMain(m)
}

// A shell and a Go function registered through the SDK run on the
// fabric's endpoint and their results come back through the service.
func TestStartRunsFunctionsThroughTheService(t *testing.T) {
	f := endpointtest.Start(t, "test", endpoint.Config{MaxWorkersPerNode: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	shell, err := f.Client.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "greet", Kind: "shell", Script: "echo hello {who}"})
	if err != nil {
		t.Fatal(err)
	}
	echo, err := f.Client.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "go", GoName: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	ex := f.Client.Executor(f.EndpointID)
	defer ex.Close()
	greeting, echoed := ex.Submit(shell, map[string]string{"who": "fabric"}), ex.Submit(echo, map[string]int{"n": 7})

	r, err := greeting.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Stdout()); got != "hello fabric\n" || r.ExitCode() != 0 {
		t.Errorf("shell function: stdout %q exit %d", got, r.ExitCode())
	}
	r, err = echoed.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]int
	if err := r.Output(&out); err != nil || out["n"] != 7 {
		t.Errorf("go function: %v, %v", out, err)
	}
	// Online once a heartbeat (every DefaultHeartbeatPeriod) has arrived.
	for {
		st, err := f.Client.EndpointStatus(ctx, f.EndpointID)
		if err == nil && st.Status == "online" && st.Workers == 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("endpoint status %+v, %v; want online with 2 workers", st, err)
		}
		time.Sleep(endpointtest.DefaultHeartbeatPeriod)
	}
}
