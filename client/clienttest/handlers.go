package clienttest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req = api.TokenRequest{GrantType: r.PostFormValue("grant_type"), ClientID: r.PostFormValue("client_id"), ClientSecret: r.PostFormValue("client_secret")}
	} else if !decode(w, r, &req) {
		return
	}
	if req.GrantType != api.GrantClientCred {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("grant_type %q is not %q", req.GrantType, api.GrantClientCred))
		return
	}
	if req.ClientID != s.cfg.ClientID || req.ClientSecret != s.cfg.ClientSecret {
		writeError(w, http.StatusUnauthorized, "unauthorized", "unknown client ID or wrong secret")
		return
	}
	tok := "fake-" + rand.Text()
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.cfg.TokenLifetime)
	s.issued++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, api.TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.cfg.TokenLifetime / time.Second)})
}

// TokensIssued returns how many tokens POST /v1/token has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// ExpireTokens makes every token issued so far invalid, as if it had
// expired early or been revoked.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// AddToken makes tok a valid bearer token of the identity, for clients
// configured with a Token.
func (s *Server) AddToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = time.Now().Add(s.cfg.TokenLifetime)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !known || time.Now().After(exp) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing, unknown or expired token")
		return false
	}
	return true
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Identity)
}

// AddEndpoint stores an endpoint as if registered and returns its ID. Zero
// fields get an ID, the test identity as owner, "online" and now.
func (s *Server) AddEndpoint(st api.EndpointStatus) string {
	if st.EndpointID == "" {
		st.EndpointID = funcx.NewTaskID().String()
	}
	if st.Owner == "" {
		st.Owner = s.cfg.Identity.ID
	}
	if st.Status == "" {
		st.Status = "online"
	}
	if st.RegisteredAt.IsZero() {
		st.RegisteredAt = time.Now().UTC()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints[st.EndpointID] = &st
	return st.EndpointID
}

func (s *Server) registerEndpoint(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterEndpointRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "name is empty")
		return
	}
	s.mu.Lock()
	if ep := s.endpoints[req.EndpointID]; req.EndpointID != "" && ep != nil && ep.Owner != s.cfg.Identity.ID {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "forbidden", "endpoint "+req.EndpointID+" belongs to another identity")
		return
	}
	s.mu.Unlock()
	id := s.AddEndpoint(api.EndpointStatus{EndpointID: req.EndpointID, Name: req.Name, DisplayName: req.DisplayName, Status: "offline"})
	writeJSON(w, http.StatusOK, api.RegisterEndpointResponse{EndpointID: id, Broker: api.BrokerCredentials{Username: "ep-" + id, Password: "fake", TaskQueue: "tasks." + id, ResultExchange: "results"}})
}

func (s *Server) listEndpoints(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	list := api.EndpointList{Endpoints: []api.EndpointStatus{}}
	for _, ep := range s.endpoints {
		if ep.Owner == s.cfg.Identity.ID {
			list.Endpoints = append(list.Endpoints, *ep)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(list.Endpoints, func(a, b api.EndpointStatus) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, list)
}

// ownEndpoint returns the caller's endpoint id, or writes 404 (reads do
// not disclose other identities' endpoints) and returns nil.
func (s *Server) ownEndpoint(w http.ResponseWriter, id string) *api.EndpointStatus {
	s.mu.Lock()
	ep := s.endpoints[id]
	s.mu.Unlock()
	if ep == nil || ep.Owner != s.cfg.Identity.ID {
		writeError(w, http.StatusNotFound, "not_found", "endpoint "+id+" is unknown")
		return nil
	}
	return ep
}

func (s *Server) endpointStatus(w http.ResponseWriter, r *http.Request) {
	if ep := s.ownEndpoint(w, r.PathValue("id")); ep != nil {
		s.mu.Lock()
		st := *ep
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	}
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	if ep := s.ownEndpoint(w, r.PathValue("id")); ep != nil {
		s.mu.Lock()
		delete(s.endpoints, ep.EndpointID)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) registerFunction(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterFunctionRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Kind == "shell" && len(req.Argv) == 0 && req.Script == "":
		writeError(w, http.StatusBadRequest, "bad_request", "a shell function needs argv or script")
		return
	case req.Kind == "go" && req.GoName == "":
		writeError(w, http.StatusBadRequest, "bad_request", "a go function needs go_name")
		return
	case req.Kind == "python" && (req.Source == "" || req.Entry == ""):
		writeError(w, http.StatusBadRequest, "bad_request", "a python function needs source and entry")
		return
	case req.Kind != "shell" && req.Kind != "go" && req.Kind != "python":
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("kind %q is not shell, go or python", req.Kind))
		return
	}
	if req.Timeout != "" {
		if _, err := time.ParseDuration(req.Timeout); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "timeout: "+err.Error())
			return
		}
	}
	fn := &api.Function{FunctionID: funcx.NewTaskID().String(), Owner: s.cfg.Identity.ID, RegisterFunctionRequest: req, CreatedAt: time.Now().UTC()}
	s.mu.Lock()
	s.functions[fn.FunctionID] = fn
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, api.RegisterFunctionResponse{FunctionID: fn.FunctionID})
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fn := s.functions[r.PathValue("id")]
	s.mu.Unlock()
	if fn == nil {
		writeError(w, http.StatusNotFound, "not_found", "function "+r.PathValue("id")+" is unknown")
		return
	}
	writeJSON(w, http.StatusOK, fn)
}

// Function returns a registered function, or nil.
func (s *Server) Function(id string) *api.Function {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.functions[id]
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes an api.ErrorBody.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg}})
}

// decode reads a JSON body within api.MaxRequestBytes, or writes 400/413
// and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, api.MaxRequestBytes)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "decode the body: "+err.Error())
		return false
	}
	return true
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}
