package service

import (
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/funcx-go/funcx/service/api"
)

// routes builds the API: every route of package api.
func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	// Every request holds one of its client's unauthenticated slots
	// until its token checked out (authed) or it ends; see guard.go.
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			r, st, err := s.admit(r)
			defer s.done(st)
			if err == nil {
				err = h(w, r)
			}
			if err != nil {
				s.writeError(w, r, err)
			}
		})
	}
	authed := func(pattern string, h func(http.ResponseWriter, *http.Request, Identity) error) {
		handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
			who, err := s.authenticate(r)
			if err != nil {
				return err
			}
			s.authenticated(stateOf(r))
			return h(w, r, who)
		})
	}
	handle("POST "+api.PathToken, s.handleToken)
	authed("GET "+api.PathWhoami, s.handleWhoami)
	authed("POST "+api.PathEndpoints, s.handleRegisterEndpoint)
	authed("GET "+api.PathEndpoints, s.handleListEndpoints)
	authed("GET "+api.PathEndpoint+"{id}", s.handleGetEndpoint)
	authed("DELETE "+api.PathEndpoint+"{id}", s.handleDeleteEndpoint)
	authed("POST "+api.PathFunctions, s.handleRegisterFunction)
	authed("GET "+api.PathFunction+"{id}", s.handleGetFunction)
	authed("POST "+api.PathTasks, s.handleSubmit)
	authed("GET "+api.PathTask+"{id}", s.handleGetTask)
	authed("POST "+api.PathTaskStatus, s.handleTaskStatus)
	authed("GET "+api.PathResults, s.handleResults)
	metrics := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
	handle("GET "+api.PathMetrics, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.metricsAuth.check(r); err != nil {
			return err
		}
		metrics.ServeHTTP(w, r)
		return nil
	})
	handle("GET "+api.PathHealth, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
		return nil
	})
	handle("/", func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no route %s %s", r.Method, r.URL.Path)
	})
	return s.instrument(mux)
}

// instrument counts requests by route and status, turns a panic into a
// logged 500 so that no input can take the service down, and bounds the
// time a request's body may take (see guard.go).
func (s *Service) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.setBodyDeadline(w, r)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, errors.New("panic"))
				}
			}
			route := r.Pattern // set by the mux on this same request
			if route == "" || route == "/" {
				route = "unmatched"
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.code())).Inc()
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the connection (MaxBytesReader
// closes it after an oversized body).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes through (the metrics handler may stream).
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
