package endpoint_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/internal/testlog"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
	"github.com/funcx-go/funcx/worker"
)

// fabric is a service on loopback HTTP with an in-process broker, a client
// logged in to it and an endpoint registered with it.
type fabric struct {
	url        string // the service's
	dial       func(ctx context.Context, creds broker.Credentials) (broker.EndpointConn, error)
	cl         *client.Client
	endpointID string
	creds      broker.Credentials
}

// inProcessBroker is the embedded broker.
func inProcessBroker(t *testing.T) (broker.Service, func(context.Context, broker.Credentials) (broker.EndpointConn, error)) {
	brk, err := membroker.New(membroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return brk, brk.DialEndpoint
}

// rabbitBroker is the RabbitMQ that scripts/start-services.sh runs.
func rabbitBroker(t *testing.T) (broker.Service, func(context.Context, broker.Credentials) (broker.EndpointConn, error)) {
	needs.Services(t, needs.RabbitMQ)
	brokertest.ShareRabbitMQ(t) // no outage test stops RabbitMQ under this one
	return newRabbitBroker(t)
}

// newRabbitBroker is rabbitBroker without the lock.
func newRabbitBroker(t *testing.T) (broker.Service, func(context.Context, broker.Credentials) (broker.EndpointConn, error)) {
	url := cmp.Or(os.Getenv("FUNCX_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/")
	svc, err := rabbitmq.New(rabbitmq.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ping(context.Background()); err != nil {
		t.Fatalf("RabbitMQ at %s: %v (run scripts/start-services.sh as root to install and start it)", url, err)
	}
	return svc, func(ctx context.Context, c broker.Credentials) (broker.EndpointConn, error) {
		return rabbitmq.DialEndpoint(ctx, c, rabbitmq.EndpointConfig{})
	}
}

func startFabric(t *testing.T, newBroker func(*testing.T) (broker.Service, func(context.Context, broker.Credentials) (broker.EndpointConn, error))) *fabric {
	t.Helper()
	ctx := context.Background()
	brk, dial := newBroker(t)
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
	serveCtx, stopServe := context.WithCancel(ctx)
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
	reg, err := cl.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cl.DeleteEndpoint(context.Background(), reg.EndpointID) // removes its queues and broker user
		_ = cl.Close()
		stopServe()
		<-served
		_ = svc.Stop(context.Background())
		_ = brk.Close()
		_ = st.Close()
	})
	b := reg.Broker
	return &fabric{url: "http://" + ln.Addr().String(), dial: dial, cl: cl, endpointID: reg.EndpointID, creds: broker.Credentials{
		URL: b.URL, Username: b.Username, Password: b.Password, TaskQueue: b.TaskQueue, ResultExchange: b.ResultExchange}}
}

// runEndpoint runs endpoint.Run until the returned stop is called.
func (f *fabric) runEndpoint(t *testing.T, journal string) (stop func()) {
	t.Helper()
	return f.runEndpointWith(t, journal, nil)
}

// runEndpointWith is runEndpoint with the RunConfig changed by edit (if
// not nil) before Run.
func (f *fabric) runEndpointWith(t *testing.T, journal string, edit func(*endpoint.RunConfig)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	cfg := endpoint.RunConfig{
		Config: endpoint.Config{
			MaxWorkersPerNode: 2, PrefetchCapacity: 8, LogDir: t.TempDir(),
			HeartbeatPeriod: 200 * time.Millisecond, HeartbeatThreshold: 5 * time.Second,
			Logger: testlog.New(t, slog.LevelWarn),
		},
		EndpointID: f.endpointID, JournalPath: journal, StopGrace: 5 * time.Second,
		Dial:  func(ctx context.Context) (broker.EndpointConn, error) { return f.dial(ctx, f.creds) },
		Ready: func() { close(ready) },
	}
	if edit != nil {
		edit(&cfg)
	}
	go func() { done <- endpoint.Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("endpoint did not come up: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("endpoint not ready within 30s")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("endpoint.Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestEndToEndInProcess(t *testing.T) {
	t.Parallel()
	endToEnd(t, startFabric(t, inProcessBroker), 2000)
}

func TestEndToEndRabbitMQ(t *testing.T) {
	t.Parallel()
	endToEnd(t, startFabric(t, rabbitBroker), 10000)
}

// endToEnd sends n tasks (every 50th a shell command, the rest a Go echo)
// through the SDK, the service, the broker and the endpoint, and checks
// each result.
func endToEnd(t *testing.T, f *fabric, n int) {
	f.runEndpoint(t, filepath.Join(t.TempDir(), "journal.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a deadline for a stuck run, generous for a loaded machine
	defer cancel()
	echo, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "go", GoName: worker.NameEcho})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "sh", Kind: "shell", Script: "echo shell-{n}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	futures := make([]*client.Future, n)
	for i := range futures {
		if i%50 == 0 {
			futures[i] = ex.Submit(sh, map[string]int{"n": i})
		} else {
			futures[i] = ex.Submit(echo, i)
		}
	}
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if i%50 == 0 {
			if got := string(r.Stdout()); got != fmt.Sprintf("shell-%d\n", i) {
				t.Fatalf("shell task %d: %q", i, got)
			}
			continue
		}
		var out int
		if err := r.Output(&out); err != nil || out != i {
			t.Fatalf("task %d: output %d, %v", i, out, err)
		}
	}
	// Nothing failed, so nothing was sent twice: the endpoint publishes
	// each result once, whether straight from its result loop or from
	// its outbox.
	if got := f.metric(t, "funcx_service_duplicate_results_total"); got != "0" {
		t.Errorf("the service dropped %s duplicate results", got)
	}
}

// metric reads one unlabelled metric from the service's /metrics.
func (f *fabric) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return v
		}
	}
	t.Fatalf("no metric %s in:\n%s", name, body)
	return ""
}

// A stopped endpoint's queued work waits in the broker; the restarted
// endpoint (same journal) runs it, and every task gets one result.
func TestEndpointRestartLosesNothing(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	journal := filepath.Join(t.TempDir(), "journal.db")
	stop := f.runEndpoint(t, journal)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fn, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "nap", Kind: "shell", Script: "sleep 0.05; echo {i}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	var inputs []any
	for i := range 200 {
		inputs = append(inputs, map[string]int{"i": i})
	}
	futures, err := ex.Map(ctx, fn, inputs)
	if err != nil {
		t.Fatal(err)
	}
	// Stop while most tasks are queued or running, then start again.
	if _, err := futures[5].Result(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	f.runEndpoint(t, journal)
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if got := string(r.Stdout()); got != fmt.Sprintf("%d\n", i) {
			t.Fatalf("task %d: %q", i, got)
		}
	}
}
