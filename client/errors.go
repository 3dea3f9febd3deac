package client

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

// Sentinels that errors.Is matches against an *APIError by its status, so
// callers can branch without looking at codes.
var (
	// ErrUnauthorized: the service refused the credentials (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the resource belongs to another identity (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the resource does not exist or is not yours (404). A
	// 410 matches it too: what was deleted for good does not exist.
	ErrNotFound = errors.New("not found")
	// ErrGone: the resource was deleted for good (410), as a deleted
	// endpoint, whose ID is never reused: register a new one.
	ErrGone = errors.New("gone")
	// ErrConflict: the request conflicts with the resource's state (409).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: the request exceeded a limit of the service (413).
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: the service or its broker is unavailable (503).
	ErrUnavailable = errors.New("unavailable")
)

// ErrCertificate matches the error of a request to an https:// service
// whose certificate this client does not accept: signed by an authority
// it does not trust (a private CA: see Config.CAFile), issued for
// another host name, or expired. It is not retried.
var ErrCertificate = errors.New("the service's TLS certificate is not accepted")

// ErrClosed is returned for work cut short by Client.Close, and for
// submissions to a closed Client or Executor.
var ErrClosed = errors.New("funcx client is closed")

var statusSentinels = map[int]error{
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusGone:                  ErrGone,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusServiceUnavailable:    ErrUnavailable,
}

// APIError is an error response of the service: its HTTP status and the
// api.ErrorDetail it carried (or the start of the body, when the response
// was not the service's JSON, as from a proxy).
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	if e.Message == "" {
		return fmt.Sprintf("service answered %d %s", e.Status, code)
	}
	return fmt.Sprintf("service answered %d %s: %s", e.Status, code, e.Message)
}

// Is matches the sentinel of e's status (ErrNotFound for 404, …).
func (e *APIError) Is(target error) bool {
	if e.Status == http.StatusGone && target == ErrNotFound {
		return true
	}
	s, ok := statusSentinels[e.Status]
	return ok && s == target
}

// temporary reports whether a retry may succeed.
func (e *APIError) temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// taskError converts the error of a failed task into the root package's
// TaskError, so that errors.Is(err, funcx.ErrWorkerLost) and friends work.
// It returns nil for a successful result.
func taskError(r *api.TaskResult) *funcx.TaskError {
	if r.Error == nil {
		if r.State == funcx.StateFailed.String() {
			return funcx.Errorf(funcx.InternalError, "the task failed without an error")
		}
		return nil
	}
	var kind funcx.ErrorKind
	if err := kind.UnmarshalText([]byte(r.Error.Kind)); err != nil || kind == funcx.NoError {
		// A kind newer than this SDK: keep its name in the message rather
		// than pretend to know what it means.
		return &funcx.TaskError{Kind: funcx.InternalError, Message: fmt.Sprintf("%s (error kind %q)", r.Error.Message, r.Error.Kind), Stack: r.Error.Stack}
	}
	return &funcx.TaskError{Kind: kind, Message: r.Error.Message, Stack: r.Error.Stack}
}
