package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/funcx-go/funcx/service/api"
)

// apiError is an error with the HTTP status and code it answers with.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "bad_request", format, args...)
}

func unauthorized(format string, args ...any) *apiError {
	return newAPIError(http.StatusUnauthorized, "unauthorized", format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newAPIError(http.StatusNotFound, "not_found", format, args...)
}

func unavailable(format string, args ...any) *apiError {
	return newAPIError(http.StatusServiceUnavailable, "unavailable", format, args...)
}

var errNoBroker = unavailable("the service has no broker configured")

// writeError answers with err: an *apiError as itself, anything else as a
// 500 whose details go to the log, not to the client.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = newAPIError(http.StatusInternalServerError, "internal", "internal error; the service log has the details")
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="funcx"`)
	}
	writeJSON(w, ae.status, api.ErrorBody{Error: api.ErrorDetail{Code: ae.code, Message: ae.msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An error here is the client going away; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// limitBody caps the request body at the configured size, answering 413
// early when the declared length is already over it.
func (s *Service) limitBody(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > s.cfg.MaxRequestBytes {
		return tooLarge(s.cfg.MaxRequestBytes)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes)
	return nil
}

func tooLarge(limit int64) *apiError {
	return newAPIError(http.StatusRequestEntityTooLarge, "too_large",
		"request body exceeds the limit of %d bytes: split it into smaller requests", limit)
}

// decodeJSON decodes the request body, a single JSON value, into dst.
// Unknown fields are errors, so that a misspelt field is not silently
// ignored.
func (s *Service) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := s.limitBody(w, r); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return s.jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return s.jsonError(err)
		}
		return badRequest("malformed JSON: unexpected data after the JSON value at byte offset %d", dec.InputOffset())
	}
	return nil
}

// jsonError says what is wrong with a request body, naming the field or
// the byte offset.
func (s *Service) jsonError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit)
	case errors.Is(err, io.EOF):
		return badRequest("malformed JSON: the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &syntaxErr):
		return badRequest("malformed JSON at byte offset %d: %s", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr):
		where := "field " + typeErr.Field
		if typeErr.Field == "" {
			where = "request body"
		}
		return badRequest("%s: got JSON %s, want %s (byte offset %d)", where, typeErr.Value, typeErr.Type, typeErr.Offset)
	default:
		// Unknown fields, bad base64 and the like: the decoder's message
		// names them.
		return badRequest("invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
}
