package clienttest

import (
	"cmp"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// Defaults of Config.
const (
	DefaultClientID      = "test-client"
	DefaultClientSecret  = "test-secret"
	DefaultTokenLifetime = time.Hour
)

// Config configures a fake Server.
type Config struct {
	// ClientID and ClientSecret are the one client identity the server
	// accepts at POST /v1/token. Default to DefaultClientID and
	// DefaultClientSecret.
	ClientID, ClientSecret string
	// Identity is who every valid token belongs to. Defaults to
	// {ID: "user-1", Name: "Test User", ClientID: ClientID}.
	Identity api.Identity
	// TokenLifetime is the expires_in of issued tokens. Defaults to
	// DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Run, if set, is called for each newly submitted task and the result
	// it returns is stored at once, as if the endpoint had run the task;
	// nil leaves the task pending. Defaults to nil: tests call Complete.
	Run func(fn api.Function, task api.TaskSubmit) *api.TaskResult
	// TLS, if set, makes the server serve HTTPS with its Certificates
	// (a certificate for 127.0.0.1), and URL start with https://.
	// Defaults to nil: plain HTTP.
	TLS *tls.Config
	// NoResultsStream makes the server answer GET /v1/results?stream=1
	// with one page, as a service that does not stream does. Defaults to
	// false: streams, as the service does.
	NoResultsStream bool
}

func (c Config) withDefaults() Config {
	c.ClientID = cmp.Or(c.ClientID, DefaultClientID)
	c.ClientSecret = cmp.Or(c.ClientSecret, DefaultClientSecret)
	c.TokenLifetime = cmp.Or(c.TokenLifetime, DefaultTokenLifetime)
	if c.Identity.ID == "" {
		c.Identity = api.Identity{ID: "user-1", Name: "Test User", ClientID: c.ClientID}
	}
	return c
}

// Server is a fake funcX service. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give client.Config.ServiceURL.
	URL string

	cfg       Config
	srv       *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	tokens    map[string]time.Time // token -> expiry
	issued    int
	requests  map[string]int // route pattern -> count
	faults    map[string][]fault
	endpoints map[string]*api.EndpointStatus
	functions map[string]*api.Function
	tasks     map[string]*api.TaskStatus
	order     []api.TaskSubmit // tasks in submission order
	results   []api.TaskResult // results[i].Seq == i+1
	changed   chan struct{}    // closed and replaced when results grow
}

// fault is an injected failure of one request.
type fault struct {
	status int // 0: process the request, then drop the connection
	code   string
}

// NewServer starts a fake service and closes it when tb's test ends.
func NewServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s := Start(cfg)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake service; the caller closes it.
func Start(cfg Config) *Server {
	s := &Server{
		cfg:       cfg.withDefaults(),
		done:      make(chan struct{}),
		tokens:    make(map[string]time.Time),
		requests:  make(map[string]int),
		faults:    make(map[string][]fault),
		endpoints: make(map[string]*api.EndpointStatus),
		functions: make(map[string]*api.Function),
		tasks:     make(map[string]*api.TaskStatus),
		changed:   make(chan struct{}),
	}
	if cfg.TLS == nil {
		s.srv = httptest.NewServer(s.routes())
	} else {
		s.srv = httptest.NewUnstartedServer(s.routes())
		s.srv.TLS = cfg.TLS
		// Clients refusing the certificate are what TLS tests try.
		s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.srv.StartTLS()
	}
	s.URL = s.srv.URL
	return s
}

// Close ends pending long polls and stops the server. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// ClientID returns the client ID the server accepts.
func (s *Server) ClientID() string { return s.cfg.ClientID }

// ClientSecret returns the client secret the server accepts.
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }

// Identity returns the identity of every valid token.
func (s *Server) Identity() api.Identity { return s.cfg.Identity }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc, auth bool) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w, handled := s.injectFault(pattern, w)
			if handled {
				return
			}
			if auth && !s.authorized(w, r) {
				return
			}
			h(w, r)
		})
	}
	handle("POST "+api.PathToken, s.token, false)
	handle("GET "+api.PathWhoami, s.whoami, true)
	handle("POST "+api.PathEndpoints, s.registerEndpoint, true)
	handle("GET "+api.PathEndpoints, s.listEndpoints, true)
	handle("GET "+api.PathEndpoint+"{id}", s.endpointStatus, true)
	handle("DELETE "+api.PathEndpoint+"{id}", s.deleteEndpoint, true)
	handle("POST "+api.PathFunctions, s.registerFunction, true)
	handle("GET "+api.PathFunction+"{id}", s.getFunction, true)
	handle("POST "+api.PathTasks, s.submit, true)
	handle("GET "+api.PathTask+"{id}", s.taskStatus, true)
	handle("POST "+api.PathTaskStatus, s.taskStatusMany, true)
	handle("GET "+api.PathResults, s.resultsPage, true)
	mux.HandleFunc("GET "+api.PathHealth, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return mux
}

// Requests returns how many requests a route received, by its pattern:
// a method and an api path, such as "POST /v1/tasks" or
// "GET /v1/endpoints/{id}".
func (s *Server) Requests(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[pattern]
}

// FailNext makes the next n requests to a route (by pattern, as in
// Requests) fail with status and an ErrorBody of code, before anything
// else is checked.
func (s *Server) FailNext(pattern string, n, status int, code string) {
	s.addFaults(pattern, n, fault{status: status, code: code})
}

// LoseResponses makes the next n requests to a route be processed and
// their connection then dropped without a response, as if the network
// failed on the way back.
func (s *Server) LoseResponses(pattern string, n int) {
	s.addFaults(pattern, n, fault{})
}

func (s *Server) addFaults(pattern string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[pattern] = append(s.faults[pattern], f)
	}
}

// injectFault counts the request and applies an injected failure. It
// returns the writer for the handler and whether the response is written.
func (s *Server) injectFault(pattern string, w http.ResponseWriter) (http.ResponseWriter, bool) {
	s.mu.Lock()
	s.requests[pattern]++
	fs := s.faults[pattern]
	if len(fs) == 0 {
		s.mu.Unlock()
		return w, false
	}
	f := fs[0]
	s.faults[pattern] = fs[1:]
	s.mu.Unlock()
	if f.status == 0 {
		return loseWriter{w}, false
	}
	writeError(w, f.status, f.code, "injected failure")
	return w, true
}

// loseWriter lets a handler do its work and then drops the connection
// instead of answering.
type loseWriter struct{ http.ResponseWriter }

func (loseWriter) WriteHeader(int)           { panic(http.ErrAbortHandler) }
func (loseWriter) Write([]byte) (int, error) { panic(http.ErrAbortHandler) }
