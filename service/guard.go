package service

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"time"
)

// The guards against hostile clients, in the order a request meets them:
//
//   - instrument sets a read deadline of Config.BodyTimeout on every
//     request that carries a body, so that a client trickling one holds
//     its connection for that long at most, whether the handler reads
//     the body or net/http discards it after the answer;
//   - admit takes one of the client's Config.MaxUnauthenticatedPerClient
//     slots, held until the bearer token checks out (never, for routes
//     without one), and answers 429 past it;
//   - readBody takes the body's bytes from Config.MaxBodyBytesInFlight,
//     held until the handler returns, and answers 503 if they are not to
//     be had within Config.BodyQueueWait.

// reqState is what the guards hold for one request.
type reqState struct {
	client   netip.Prefix
	unauth   bool  // holds a slot of s.clients
	held     int64 // body bytes taken from s.budget
	bodyDone bool  // the body was read to its end
}

type reqStateKey struct{}

// stateOf returns the request's guard state, or a fresh one for a
// request that did not come through admit.
func stateOf(r *http.Request) *reqState {
	if st, ok := r.Context().Value(reqStateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// setBodyDeadline bounds the reading of the request's body, from now,
// to Config.BodyTimeout. Requests without a body keep no deadline: a long
// poll reads none and may last Config.MaxWait.
func (s *Service) setBodyDeadline(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	// Not every ResponseWriter supports deadlines (httptest's does not);
	// the limits on size and bytes in flight still hold without one.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
}

// admit registers the request's guard state and takes a slot of the
// client's unauthenticated requests. The returned request carries the
// state; done releases what it holds.
func (s *Service) admit(r *http.Request) (*http.Request, *reqState, error) {
	st := &reqState{}
	r = r.WithContext(context.WithValue(r.Context(), reqStateKey{}, st))
	k, ok := s.clients.acquire(r.RemoteAddr)
	if !ok {
		return r, st, tooManyUnauthenticated(s.cfg.MaxUnauthenticatedPerClient, k)
	}
	st.client, st.unauth = k, true
	return r, st, nil
}

// authenticated releases the request's unauthenticated slot: its token
// checked out.
func (s *Service) authenticated(st *reqState) {
	if st.unauth {
		st.unauth = false
		s.clients.release(st.client)
	}
}

// done releases what the request holds.
func (s *Service) done(st *reqState) {
	s.authenticated(st)
	s.budget.release(st.held)
	st.held = 0
}

func tooManyUnauthenticated(max int, client netip.Prefix) *apiError {
	e := newAPIError(http.StatusTooManyRequests, "too_many_requests",
		"more than %d requests at once from %s without a checked bearer token: wait for one to finish and retry", max, client)
	e.retryAfter = 1
	return e
}

// takeBody takes n body bytes from the budget for the request, waiting at
// most Config.BodyQueueWait.
func (s *Service) takeBody(r *http.Request, st *reqState, n int64) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.BodyQueueWait)
	defer cancel()
	if err := s.budget.acquire(ctx, n, st.held > 0); err != nil {
		// (Also when the client has gone: nobody reads the answer, and
		// it is no error of the service's to log.)
		e := unavailable("request bodies in flight fill the service's bound of %d bytes: no room for %d more within %s; retry shortly",
			s.cfg.MaxBodyBytesInFlight, n, s.cfg.BodyQueueWait)
		e.retryAfter = 1
		return e
	}
	st.held += n
	return nil
}

// bodyTimeout is the answer to a body that did not arrive within
// Config.BodyTimeout.
func (s *Service) bodyTimeout() *apiError {
	return newAPIError(http.StatusRequestTimeout, "timeout",
		"the request body did not arrive within %s: send it at once, or in smaller requests", s.cfg.BodyTimeout)
}

// isTimeout reports a read that hit its deadline.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
