package worker

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx/internal/python"
	"github.com/funcx-go/funcx/internal/wire"
)

// DefaultCancelGrace is the default for Config.CancelGrace.
const DefaultCancelGrace = 2 * time.Second

// Config configures Serve. The zero value works.
type Config struct {
	// WorkerID is the worker's index on its manager, reported in Ready and
	// in every Result. Defaults to 0.
	WorkerID int
	// Container is the container type the worker runs in, reported in
	// Ready. Defaults to funcx.RawContainer (no container).
	Container string
	// Registry holds the Go functions the worker can call. Defaults to
	// DefaultRegistry. The built-ins (noop, echo, sleep) are always there.
	Registry *Registry
	// Logger receives the worker's logs. Defaults to nil: quiet.
	Logger *slog.Logger
	// MaxFrame limits one frame in either direction, in bytes. Defaults to
	// wire.DefaultMaxFrame.
	MaxFrame int
	// CancelGrace is how long a cancelled task is waited for: a Go
	// function to return after its context is done, and the output pipes
	// of a shell command to close after its process group was killed.
	// Past it the worker moves on (a Go function that ignores its context
	// is abandoned and its goroutine leaks). Defaults to DefaultCancelGrace.
	CancelGrace time.Duration
	// PythonCommand is the interpreter of Python functions: a path, or a
	// name looked up in PATH (the endpoint's python_command). The worker
	// starts it at its first Python task and keeps it. Defaults to
	// DefaultPythonCommand.
	PythonCommand string

	// ownProcess: Serve runs in a worker process of its own (Main), and
	// may tune the process's runtime for its tasks (see procs.go).
	ownProcess bool
}

// DefaultPythonCommand is the default for Config.PythonCommand.
const DefaultPythonCommand = python.DefaultCommand

// withDefaults returns a copy of c with its defaults filled in.
func (c Config) withDefaults() Config {
	c.Registry = cmp.Or(c.Registry, DefaultRegistry)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.MaxFrame = cmp.Or(c.MaxFrame, wire.DefaultMaxFrame)
	c.CancelGrace = cmp.Or(c.CancelGrace, DefaultCancelGrace)
	c.PythonCommand = cmp.Or(c.PythonCommand, DefaultPythonCommand)
	return c
}

// validate names the first field that cannot work.
func (c *Config) validate() error {
	switch {
	case c.WorkerID < 0:
		return fmt.Errorf("worker config: WorkerID %d is negative", c.WorkerID)
	case c.MaxFrame < 0:
		return fmt.Errorf("worker config: MaxFrame %d is negative", c.MaxFrame)
	case c.CancelGrace < 0:
		return fmt.Errorf("worker config: CancelGrace %s is negative", c.CancelGrace)
	}
	return nil
}
