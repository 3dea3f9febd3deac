package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// user is an identity with a token.
type user struct {
	id, clientID, secret, token string
}

type bundle struct {
	svc    *service.Service
	store  *sqlitestore.Store
	dbPath string // the store's SQLite file
	broker *fakeBroker
	clock  *fakeClock
	reg    *prometheus.Registry
	alice  user
	bob    user
}

// setup starts a service on a fresh SQLite file with a fake broker and a
// fake clock, and two identities, alice and bob, with tokens. configure
// may change the config first.
func setup(tb testing.TB, configure ...func(*service.Config)) *bundle {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "service.db")
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	b := &bundle{store: st, dbPath: path, broker: newFakeBroker(), clock: &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, reg: prometheus.NewRegistry()}
	cfg := service.Config{Store: st, Broker: b.broker, Clock: b.clock.Now, Registry: b.reg}
	for _, f := range configure {
		f(&cfg)
	}
	b.svc, err = service.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.svc.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.svc.Stop(ctx); err != nil {
			tb.Error(err)
		}
	})
	b.alice = b.newUser(tb, "alice")
	b.bob = b.newUser(tb, "bob")
	return b
}

func (b *bundle) newUser(tb testing.TB, name string) user {
	tb.Helper()
	var u user
	var err error
	if u.clientID, u.secret, err = b.svc.AddIdentity(context.Background(), name); err != nil {
		tb.Fatal(err)
	}
	var tok api.TokenResponse
	b.mustDo(tb, "POST", api.PathToken, "", api.TokenRequest{GrantType: api.GrantClientCred, ClientID: u.clientID, ClientSecret: u.secret}, &tok)
	u.token = tok.AccessToken
	var who api.Identity
	b.mustDo(tb, "GET", api.PathWhoami, u.token, nil, &who)
	u.id = who.ID
	return u
}

// do sends a request to the handler. body is sent as is if it is a string
// or []byte, else as JSON.
func (b *bundle) do(tb testing.TB, method, path, token string, body any) (int, []byte) {
	tb.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	b.svc.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// mustDo is do that expects a 2xx and decodes the answer into out.
func (b *bundle) mustDo(tb testing.TB, method, path, token string, body, out any) {
	tb.Helper()
	code, data := b.do(tb, method, path, token, body)
	if code/100 != 2 {
		tb.Fatalf("%s %s: %d %s", method, path, code, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// wantError checks an error answer's status and that its message
// contains want.
func wantError(tb testing.TB, code int, data []byte, wantCode int, want string) {
	tb.Helper()
	if code != wantCode {
		tb.Fatalf("status %d, want %d: %s", code, wantCode, data)
	}
	var eb api.ErrorBody
	if err := json.Unmarshal(data, &eb); err != nil {
		tb.Fatalf("error body %q: %v", data, err)
	}
	if !strings.Contains(eb.Error.Message, want) {
		tb.Fatalf("error message %q does not contain %q", eb.Error.Message, want)
	}
}

func (b *bundle) registerEndpoint(tb testing.TB, u user) string {
	tb.Helper()
	var resp api.RegisterEndpointResponse
	b.mustDo(tb, "POST", api.PathEndpoints, u.token, api.RegisterEndpointRequest{Name: "ep"}, &resp)
	return resp.EndpointID
}

func (b *bundle) registerFunction(tb testing.TB, u user, req api.RegisterFunctionRequest) string {
	tb.Helper()
	var resp api.RegisterFunctionResponse
	b.mustDo(tb, "POST", api.PathFunctions, u.token, req, &resp)
	return resp.FunctionID
}

var echo = api.RegisterFunctionRequest{Name: "echo", Kind: "shell", Argv: []string{"echo", "{msg}"}, Timeout: "5s", ContainerImage: "alpine"}

// submit submits tasks of fn to ep and returns their IDs.
func (b *bundle) submit(tb testing.TB, u user, ep, fn string, n int) []string {
	tb.Helper()
	req := api.SubmitRequest{EndpointID: ep}
	for range n {
		req.Tasks = append(req.Tasks, api.TaskSubmit{FunctionID: fn, Args: json.RawMessage(`{"msg":"hi"}`)})
	}
	var resp api.SubmitResponse
	b.mustDo(tb, "POST", api.PathTasks, u.token, req, &resp)
	return resp.TaskIDs
}

// succeed delivers a success result for each task from endpoint ep.
func (b *bundle) succeed(tb testing.TB, ep string, ids ...string) {
	tb.Helper()
	var rs []funcx.Result
	for _, id := range ids {
		rs = append(rs, funcx.Result{TaskID: funcx.TaskID(mustParse(tb, id)), State: funcx.StateSuccess, Stdout: []byte("hi\n"), Worker: 1})
	}
	b.broker.deliver(tb, ep, broker.Message{Results: rs})
}

func mustParse(tb testing.TB, id string) funcx.TaskID {
	tb.Helper()
	tid, err := funcx.ParseTaskID(id)
	if err != nil {
		tb.Fatal(err)
	}
	return tid
}

// metric returns the text of /metrics.
func (b *bundle) metrics(tb testing.TB) string {
	tb.Helper()
	code, data := b.do(tb, "GET", api.PathMetrics, "", nil)
	if code != http.StatusOK {
		tb.Fatalf("metrics: %d", code)
	}
	return string(data)
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
