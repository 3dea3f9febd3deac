package funcx

import (
	"errors"
	"fmt"
)

// ErrorKind classifies why a task failed, so that callers can branch on it.
type ErrorKind uint8

const (
	// NoError: the task succeeded. A shell command's non-zero exit is not
	// an error of the task: it is reported in Result.ExitCode.
	NoError ErrorKind = iota
	// RemoteError: the function itself failed (a Go function returned an
	// error or panicked, or a shell command could not be started).
	RemoteError
	// WorkerLost: the worker process running the task died (crash, OOM
	// kill, signal). The worker is replaced.
	WorkerLost
	// ManagerLost: the manager holding the task stopped heartbeating or
	// its connection broke, and no retries were left.
	ManagerLost
	// TaskTimeout: the function ran past its timeout and was killed.
	TaskTimeout
	// ResultTooLarge: the result exceeded the size the fabric carries.
	ResultTooLarge
	// FunctionNotFound: no Go function is registered under the task's name
	// in the worker binary.
	FunctionNotFound
	// InvalidTask: the task cannot be run as given (bad arguments, bad
	// function definition).
	InvalidTask
	// Cancelled: the task was abandoned because its endpoint shut down.
	Cancelled
	// InternalError: a fault of the fabric itself.
	InternalError
	// EndpointDeleted: the task's endpoint was deleted before the task
	// had a result. Only the service sets it (when the endpoint is
	// deleted, for every task of it without a result); an endpoint cannot
	// report it.
	EndpointDeleted
)

var errorKindNames = [...]string{
	NoError:          "",
	RemoteError:      "RemoteError",
	WorkerLost:       "WorkerLost",
	ManagerLost:      "ManagerLost",
	TaskTimeout:      "TaskTimeout",
	ResultTooLarge:   "ResultTooLarge",
	FunctionNotFound: "FunctionNotFound",
	InvalidTask:      "InvalidTask",
	Cancelled:        "Cancelled",
	InternalError:    "InternalError",
	EndpointDeleted:  "EndpointDeleted",
}

func (k ErrorKind) String() string {
	if int(k) < len(errorKindNames) {
		if k == NoError {
			return "NoError"
		}
		return errorKindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// IsSystemFailure reports whether the failure is the fabric's rather than
// the function's, and so may be retried (max_retries_on_system_failure).
func (k ErrorKind) IsSystemFailure() bool { return k == WorkerLost || k == ManagerLost }

// MarshalText encodes the kind by name; a kind this package does not know
// is encoded as InternalError.
func (k ErrorKind) MarshalText() ([]byte, error) {
	if int(k) >= len(errorKindNames) {
		k = InternalError
	}
	return []byte(errorKindNames[k]), nil
}

// UnmarshalText decodes a kind name; the empty string is NoError.
func (k *ErrorKind) UnmarshalText(b []byte) error {
	for i, n := range errorKindNames {
		if n == string(b) {
			*k = ErrorKind(i)
			return nil
		}
	}
	return fmt.Errorf("error kind %q is unknown", b)
}

// TaskError is the error of a failed task: its kind, a message and, for a
// remote failure, the stack where it happened. It travels inside a Result
// and is returned by the SDK, so errors.As finds it.
type TaskError struct {
	Kind    ErrorKind
	Message string
	// Stack is the remote stack trace (a Go panic's), if there is one.
	Stack string
}

func (e *TaskError) Error() string {
	if e.Message == "" {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Message
}

// Is makes errors.Is(err, funcx.ErrWorkerLost) and friends work on any
// TaskError of that kind.
func (e *TaskError) Is(target error) bool {
	var k kindSentinel
	if errors.As(target, &k) {
		return e.Kind == ErrorKind(k)
	}
	return false
}

// kindSentinel is an error that stands for all task errors of one kind.
type kindSentinel ErrorKind

func (k kindSentinel) Error() string { return ErrorKind(k).String() }

// Sentinels for errors.Is on task errors.
var (
	ErrRemote           error = kindSentinel(RemoteError)
	ErrWorkerLost       error = kindSentinel(WorkerLost)
	ErrManagerLost      error = kindSentinel(ManagerLost)
	ErrTaskTimeout      error = kindSentinel(TaskTimeout)
	ErrResultTooLarge   error = kindSentinel(ResultTooLarge)
	ErrFunctionNotFound error = kindSentinel(FunctionNotFound)
	ErrInvalidTask      error = kindSentinel(InvalidTask)
	ErrCancelled        error = kindSentinel(Cancelled)
	ErrEndpointDeleted  error = kindSentinel(EndpointDeleted)
)

// Errorf builds a TaskError of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *TaskError {
	return &TaskError{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
