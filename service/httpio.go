package service

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// apiError is an error with the HTTP status and code it answers with.
type apiError struct {
	status int
	code   string
	msg    string
	// retryAfter, if set, is the Retry-After header's seconds: the
	// refusal is about load, and a retry after that may succeed.
	retryAfter int
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
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	if r.ContentLength != 0 && !stateOf(r).bodyDone {
		// The body was not read (refused before, or cut off): close the
		// connection rather than let net/http read and discard the rest
		// of what may be a trickle.
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, ae.status, api.ErrorBody{Error: api.ErrorDetail{Code: ae.code, Message: ae.msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An error here is the client going away; there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// tooLarge is the answer to a body over its limit.
func tooLarge(limit int64) *apiError {
	return newAPIError(http.StatusRequestEntityTooLarge, "too_large",
		"request body exceeds the limit of %d bytes: split it into smaller requests", limit)
}

// maxTokenRequestBytes caps POST /v1/token bodies, which anyone may send:
// credentials take a few hundred bytes.
const maxTokenRequestBytes = 64 << 10

// minBodyChunk is the first buffer for a body of unknown length.
const minBodyChunk = 64 << 10

// readBody reads the whole request body, at most limit bytes, into one
// buffer of its size: the bytes are taken from Config.MaxBodyBytesInFlight
// first (by Content-Length, or as the buffer grows when the length is not
// declared) and held until the handler returns.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	st := stateOf(r)
	body := http.MaxBytesReader(w, r.Body, limit)
	var (
		buf []byte
		err error
	)
	if n := r.ContentLength; n >= 0 {
		if n > 0 {
			if err := s.takeBody(r, st, n); err != nil {
				return nil, err
			}
		}
		buf = make([]byte, n)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = s.readUnsized(r, st, body, limit)
	}
	if err != nil {
		return nil, s.bodyError(err)
	}
	st.bodyDone = true
	// net/http clears the deadline itself once the body hit its end;
	// clear it anyway, so that no handler after this read is cut short.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	return buf, nil
}

// readUnsized reads a body of undeclared length (chunked), doubling its
// buffer from minBodyChunk and taking each growth from the budget.
func (s *Service) readUnsized(r *http.Request, st *reqState, body io.Reader, limit int64) ([]byte, error) {
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			if int64(cap(buf)) >= limit {
				// Full: one more byte is over the limit (body, a
				// MaxBytesReader, says so), none is the end.
				var probe [1]byte
				if _, err := body.Read(probe[:]); err != io.EOF {
					return nil, cmp.Or(err, error(tooLarge(limit)))
				}
				return buf, nil
			}
			grow := min(max(int64(cap(buf)), minBodyChunk), limit-int64(cap(buf)))
			if err := s.takeBody(r, st, grow); err != nil {
				return nil, err
			}
			// The old buffer is garbage once copied; only the new one
			// counts.
			buf = append(make([]byte, 0, int64(cap(buf))+grow), buf...)
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// bodyError says why a body could not be read.
func (s *Service) bodyError(err error) error {
	var (
		ae     *apiError
		maxErr *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit)
	case isTimeout(err):
		return s.bodyTimeout()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the request body ended before its Content-Length: send the whole body")
	default:
		return badRequest("the request body could not be read: %v", err)
	}
}

// decodeJSON decodes the request body, a single JSON value of at most
// Config.MaxRequestBytes, into dst.
func (s *Service) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return s.decodeBody(w, r, dst, s.cfg.MaxRequestBytes)
}

// decodeBody decodes the request body, a single JSON value of at most
// limit bytes, into dst. Unknown fields are errors, so that a misspelt
// field is not silently ignored.
//
// The body is read into one buffer of its size and unmarshalled from
// there: a json.Decoder would copy it into a buffer of its own, grown by
// doubling. See unknownField.
func (s *Service) decodeBody(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	data, err := s.readBody(w, r, limit)
	if err != nil {
		return err
	}
	return decodeStrict(data, dst)
}

// decodeStrict unmarshals data, a single JSON value, into dst, refusing
// unknown fields, with an error that says what is wrong.
func decodeStrict(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("malformed JSON: the request body is empty")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return jsonError(err)
	}
	if err := unknownField(data, reflect.TypeOf(dst)); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError says what is wrong with a request body, naming the field or
// the byte offset.
func jsonError(err error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntaxErr):
		switch msg := syntaxErr.Error(); {
		case msg == "unexpected end of JSON input":
			return badRequest("malformed JSON: the body ends in the middle of a value")
		case strings.HasSuffix(msg, "after top-level value"):
			return badRequest("malformed JSON: unexpected data after the JSON value at byte offset %d", syntaxErr.Offset)
		default:
			return badRequest("malformed JSON at byte offset %d: %s", syntaxErr.Offset, msg)
		}
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
