package service_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// httpFabric is a service on a loopback HTTP port backed by the real
// RabbitMQ, with a settable clock.
type httpFabric struct {
	base  string
	http  *http.Client
	clock *fakeClock
	svc   *service.Service
	store *sqlitestore.Store
	stop  func()        // stops the service (as a SIGTERM would); idempotent
	done  chan struct{} // closed by stop
}

func (f *httpFabric) running() bool {
	select {
	case <-f.done:
		return false
	default:
		return true
	}
}

func startRabbitService(t *testing.T, tokenTTL time.Duration) *httpFabric {
	t.Helper()
	needs.Services(t, needs.RabbitMQ)
	brokertest.ShareRabbitMQ(t)
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "service.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return startRabbitServiceOn(t, st, tokenTTL)
}

// startRabbitServiceOn starts a service process, as it were, on st: a
// service.Service with a rabbitmq.Service of its own, knowing nothing
// but what st holds.
func startRabbitServiceOn(t *testing.T, st *sqlitestore.Store, tokenTTL time.Duration) *httpFabric {
	t.Helper()
	ctx := context.Background()
	brk, err := rabbitmq.New(rabbitmq.Config{URL: testAMQPURL, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond,
		ReconnectDelay: 50 * time.Millisecond, MaxReconnectDelay: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { brk.Close() })
	if err := brk.Ping(ctx); err != nil {
		t.Fatalf("RabbitMQ at %s: %v (run scripts/start-services.sh as root to install and start it)", testAMQPURL, err)
	}
	f := &httpFabric{http: &http.Client{Timeout: 30 * time.Second}, clock: &fakeClock{now: time.Now()}, store: st}
	f.svc, err = service.New(service.Config{Store: st, Broker: brk, Clock: f.clock.Now, TokenTTL: tokenTTL})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.base = "http://" + ln.Addr().String()
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- f.svc.Serve(serveCtx, ln) }()
	var once sync.Once
	f.done = make(chan struct{})
	f.stop = func() {
		once.Do(func() {
			close(f.done)
			stop()
			if err := <-served; err != nil {
				t.Error(err)
			}
			f.http.CloseIdleConnections()
		})
	}
	t.Cleanup(f.stop)
	return f
}

var testAMQPURL = cmp.Or(os.Getenv("FUNCX_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/")

// do sends a JSON request over HTTP and returns the status and body.
func (f *httpFabric) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func (f *httpFabric) mustDo(t *testing.T, method, path, token string, body, out any) {
	t.Helper()
	code, data := f.do(t, method, path, token, body)
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, code, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// login creates an identity and returns its bearer token.
func (f *httpFabric) login(t *testing.T, name string) string {
	t.Helper()
	id, secret, err := f.svc.AddIdentity(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var tok api.TokenResponse
	f.mustDo(t, "POST", api.PathToken, "", api.TokenRequest{GrantType: api.GrantClientCred, ClientID: id, ClientSecret: secret}, &tok)
	return tok.AccessToken
}

// registerEndpoint registers an endpoint over HTTP; cleanup deletes it,
// and with it its RabbitMQ queues and user.
func (f *httpFabric) registerEndpoint(t *testing.T, token string) api.RegisterEndpointResponse {
	t.Helper()
	var reg api.RegisterEndpointResponse
	f.mustDo(t, "POST", api.PathEndpoints, token, api.RegisterEndpointRequest{Name: "ep"}, &reg)
	t.Cleanup(func() {
		// A test whose service process f stopped deletes the endpoint
		// through the next one itself.
		if f.running() {
			if code, data := f.do(t, "DELETE", api.PathEndpoint+reg.EndpointID, token, nil); code/100 != 2 {
				t.Errorf("delete endpoint %s: %d %s", reg.EndpointID, code, data)
			}
		}
		assertGoneFromRabbitMQ(t, reg.EndpointID, reg.Broker.Username)
	})
	return reg
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, broker.ErrAccessRefused) || !strings.Contains(err.Error(), "ACCESS_REFUSED") {
		t.Fatalf("%s: %v, want ACCESS_REFUSED", what, err)
	}
}

// Over real HTTP and the real RabbitMQ: identity B cannot see, submit to
// or register over identity A's endpoint, nor use A's functions or read
// A's tasks and results; endpoint A's broker credentials are refused on
// endpoint B's queue and exchange; a wrong, missing or expired token gets
// 401.
func TestSecurityWithRabbitMQ(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	f := startRabbitService(t, ttl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, bob := f.login(t, "alice"), f.login(t, "bob")
	epA, epB := f.registerEndpoint(t, alice), f.registerEndpoint(t, bob)
	credsA, credsB := broker.Credentials(epA.Broker), broker.Credentials(epB.Broker)
	var fnA, fnB api.RegisterFunctionResponse
	f.mustDo(t, "POST", api.PathFunctions, alice, api.RegisterFunctionRequest{Name: "a", Kind: "shell", Argv: []string{"true"}}, &fnA)
	f.mustDo(t, "POST", api.PathFunctions, bob, api.RegisterFunctionRequest{Name: "b", Kind: "shell", Argv: []string{"true"}}, &fnB)
	var sub api.SubmitResponse
	f.mustDo(t, "POST", api.PathTasks, alice, api.SubmitRequest{EndpointID: epA.EndpointID, Tasks: []api.TaskSubmit{{FunctionID: fnA.FunctionID}}}, &sub)
	taskA := sub.TaskIDs[0]

	t.Run("identities", func(t *testing.T) {
		for _, c := range []struct {
			what         string
			method, path string
			body         any
			code         int
		}{
			{"see A's endpoint", "GET", api.PathEndpoint + epA.EndpointID, nil, http.StatusNotFound},
			{"register over A's endpoint", "POST", api.PathEndpoints, api.RegisterEndpointRequest{EndpointID: epA.EndpointID, Name: "mine"}, http.StatusForbidden},
			{"delete A's endpoint", "DELETE", api.PathEndpoint + epA.EndpointID, nil, http.StatusNotFound},
			{"submit to A's endpoint", "POST", api.PathTasks, api.SubmitRequest{EndpointID: epA.EndpointID, Tasks: []api.TaskSubmit{{FunctionID: fnB.FunctionID}}}, http.StatusNotFound},
			{"submit A's function", "POST", api.PathTasks, api.SubmitRequest{EndpointID: epB.EndpointID, Tasks: []api.TaskSubmit{{FunctionID: fnA.FunctionID}}}, http.StatusNotFound},
			{"see A's function", "GET", api.PathFunction + fnA.FunctionID, nil, http.StatusNotFound},
			{"see A's task", "GET", api.PathTask + taskA, nil, http.StatusNotFound},
		} {
			if code, data := f.do(t, c.method, c.path, bob, c.body); code != c.code {
				t.Errorf("bob could %s: %d %s, want %d", c.what, code, data, c.code)
			}
		}
		var list api.EndpointList
		f.mustDo(t, "GET", api.PathEndpoints, bob, nil, &list)
		if len(list.Endpoints) != 1 || list.Endpoints[0].EndpointID != epB.EndpointID {
			t.Errorf("bob's endpoint list: %+v", list.Endpoints)
		}
		var st api.TaskStatusList
		f.mustDo(t, "POST", api.PathTaskStatus, bob, api.TaskStatusRequest{TaskIDs: []string{taskA}}, &st)
		if len(st.Tasks) != 0 {
			t.Errorf("bob sees the status of alice's task: %+v", st.Tasks)
		}
	})

	t.Run("broker credentials", func(t *testing.T) {
		stolen := credsA
		stolen.TaskQueue = credsB.TaskQueue
		c, err := rabbitmq.DialEndpoint(ctx, stolen, rabbitmq.EndpointConfig{})
		if err == nil {
			c.Close()
		}
		wantRefused(t, "endpoint A consuming B's task queue", err)

		forged := credsA
		forged.ResultExchange = credsB.ResultExchange
		c, err = rabbitmq.DialEndpoint(ctx, forged, rabbitmq.EndpointConfig{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.PublishResults(ctx, []funcx.Result{{TaskID: funcx.NewTaskID(), State: funcx.StateSuccess}})
		c.Close()
		wantRefused(t, "endpoint A publishing to B's results exchange", err)

		wrong := credsB
		wrong.Password = credsA.Password
		_, err = rabbitmq.DialEndpoint(ctx, wrong, rabbitmq.EndpointConfig{})
		wantRefused(t, "B's user with A's password", err)
	})

	t.Run("results stay with their owner", func(t *testing.T) {
		// Endpoint A, with its own credentials, runs alice's task.
		c, err := rabbitmq.DialEndpoint(ctx, credsA, rabbitmq.EndpointConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var d broker.Delivery
		select {
		case d = <-c.Deliveries():
		case <-ctx.Done():
			t.Fatal("endpoint A got no task")
		}
		if len(d.Tasks) != 1 || d.Tasks[0].ID.String() != taskA {
			t.Fatalf("endpoint A got %+v, want task %s", d.Tasks, taskA)
		}
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
		if err := c.PublishResults(ctx, []funcx.Result{{TaskID: d.Tasks[0].ID, State: funcx.StateSuccess}}); err != nil {
			t.Fatal(err)
		}
		var page api.ResultsPage
		f.mustDo(t, "GET", api.PathResults+"?after=0&wait=20s", alice, nil, &page)
		if len(page.Results) != 1 || page.Results[0].TaskID != taskA {
			t.Fatalf("alice's results: %+v", page.Results)
		}
		f.mustDo(t, "GET", api.PathResults+"?after=0&wait=0s", bob, nil, &page)
		if len(page.Results) != 0 {
			t.Fatalf("bob sees results: %+v", page.Results)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		for what, token := range map[string]string{"no": "", "a wrong": alice + "x", "a made-up": "fx_0123456789abcdef"} {
			if code, data := f.do(t, "GET", api.PathWhoami, token, nil); code != http.StatusUnauthorized {
				t.Errorf("%s token: %d %s, want 401", what, code, data)
			}
		}
		f.clock.Add(ttl + time.Second)
		if code, data := f.do(t, "GET", api.PathEndpoints, alice, nil); code != http.StatusUnauthorized || !strings.Contains(string(data), "expired") {
			t.Errorf("expired token: %d %s, want 401 expired", code, data)
		}
		// Let the cleanup delete the endpoints with fresh tokens' worth of time.
		f.clock.Add(-(ttl + time.Second))
	})
}

// The endpoint ID reuse attack (issue 10, part 3), over real HTTP and the
// real RabbitMQ: alice deletes an endpoint with a waiting task, and bob
// tries to take its ID and to report a result for her task. Her waiting
// task fails with EndpointDeleted at once (her long poll wakes with it);
// the ID is refused to bob and to alice; a result for her task published
// by bob's own endpoint, with its own broker credentials, is dropped and
// counted; she never reads a forged success.
func TestEndpointIDReuseWithRabbitMQ(t *testing.T) {
	t.Parallel()
	f := startRabbitService(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, bob := f.login(t, "alice"), f.login(t, "bob")

	var epA api.RegisterEndpointResponse
	f.mustDo(t, "POST", api.PathEndpoints, alice, api.RegisterEndpointRequest{Name: "laptop"}, &epA)
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			f.do(t, "DELETE", api.PathEndpoint+epA.EndpointID, alice, nil)
		}
	})
	var fn api.RegisterFunctionResponse
	f.mustDo(t, "POST", api.PathFunctions, alice, api.RegisterFunctionRequest{Name: "a", Kind: "shell", Argv: []string{"true"}}, &fn)
	var sub api.SubmitResponse
	f.mustDo(t, "POST", api.PathTasks, alice, api.SubmitRequest{EndpointID: epA.EndpointID, Tasks: []api.TaskSubmit{{FunctionID: fn.FunctionID}}}, &sub)
	taskA := sub.TaskIDs[0]

	// Alice's long poll (60 s) waits when the endpoint is deleted; the
	// HTTP client gives up after 30 s.
	type polled struct {
		page    api.ResultsPage
		err     error
		elapsed time.Duration
	}
	polls := make(chan polled, 1)
	go func() {
		start := time.Now()
		var p polled
		req, _ := http.NewRequest("GET", f.base+api.PathResults+"?after=0&wait=60s", nil)
		req.Header.Set("Authorization", "Bearer "+alice)
		resp, err := f.http.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&p.page)
			resp.Body.Close()
		}
		p.err, p.elapsed = err, time.Since(start)
		polls <- p
	}()
	time.Sleep(50 * time.Millisecond) // let the poll wait
	if code, data := f.do(t, "DELETE", api.PathEndpoint+epA.EndpointID, alice, nil); code != http.StatusNoContent {
		t.Fatalf("alice deletes her endpoint: %d %s", code, data)
	}
	deleted = true
	// Errorf, not Fatalf, from here on: every rule is checked.
	switch p := <-polls; {
	case p.err != nil || len(p.page.Results) != 1:
		t.Errorf("alice's poll: %+v, %v after %s; want her task failed at once", p.page, p.err, p.elapsed)
	case p.page.Results[0].TaskID != taskA || p.page.Results[0].Error == nil || p.page.Results[0].Error.Kind != "EndpointDeleted":
		t.Errorf("alice's waiting task: %+v, want EndpointDeleted", p.page.Results[0])
	}

	for who, token := range map[string]string{"bob": bob, "alice": alice} {
		code, data := f.do(t, "POST", api.PathEndpoints, token, api.RegisterEndpointRequest{EndpointID: epA.EndpointID, Name: "mine"})
		if code/100 == 2 { // a regression: leave no RabbitMQ user behind
			t.Cleanup(func() { f.do(t, "DELETE", api.PathEndpoint+epA.EndpointID, token, nil) })
		}
		if code != http.StatusGone || !strings.Contains(string(data), "was deleted and is never reused") || strings.Contains(string(data), "alice") {
			t.Errorf("%s registers the deleted ID: %d %s, want 410 naming no one", who, code, data)
		}
	}
	if c, err := rabbitmq.DialEndpoint(ctx, broker.Credentials(epA.Broker), rabbitmq.EndpointConfig{}); err == nil || !errors.Is(err, broker.ErrAccessRefused) {
		if c != nil {
			c.Close()
		}
		t.Errorf("the deleted endpoint's broker user: %v, want ACCESS_REFUSED", err)
	}

	// Bob's own endpoint, with its own credentials, reports alice's task.
	epB := f.registerEndpoint(t, bob)
	c, err := rabbitmq.DialEndpoint(ctx, broker.Credentials(epB.Broker), rabbitmq.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	forged := []funcx.Result{{TaskID: mustParse(t, taskA), State: funcx.StateSuccess, Stdout: []byte("bob's output\n")}}
	if err := c.PublishResults(ctx, forged); err != nil {
		t.Fatal(err)
	}
	const dropped = `funcx_service_dropped_results_total{reason="foreign_task"} 1`
	for counted := false; !counted; {
		_, m := f.do(t, "GET", api.PathMetrics, "", nil)
		counted = strings.Contains(string(m), dropped)
		if !counted {
			select {
			case <-ctx.Done():
				t.Errorf("the forged result was not counted as dropped:\n%s", m)
				counted = true
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	var page api.ResultsPage
	f.mustDo(t, "GET", api.PathResults+"?after=0&wait=0s", alice, nil, &page)
	for _, r := range page.Results {
		if r.State != "failed" || r.Error == nil || r.Error.Kind != "EndpointDeleted" || len(r.Stdout) != 0 {
			t.Errorf("alice reads %+v %+v, want only EndpointDeleted", r, r.Error)
		}
	}
	var st api.TaskStatus
	f.mustDo(t, "GET", api.PathTask+taskA, alice, nil, &st)
	if st.State != "failed" || st.Result == nil || len(st.Result.Stdout) != 0 {
		t.Errorf("alice's task: %+v %+v", st, st.Result)
	}
}
