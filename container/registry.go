package container

import (
	"context"

	"github.com/funcx-go/funcx/internal/registry"
)

// The registry of container runtimes, in the manner of database/sql
// drivers: each runtime package registers its worker_mode name in an init
// function, and a program links the runtimes it needs by importing their
// packages, for their side effect if need be:
//
//	import _ "github.com/funcx-go/funcx/container/docker"
//
// The manager role looks the runtime up when it starts its workers, so
// the program that serves it (endpoint.ServeChildRole) must import it;
// endpoint/backends imports every runtime.

// Driver makes runtimes of one kind.
type Driver interface {
	// New returns a runtime with opts. It does no I/O: it neither
	// contacts a daemon nor looks a command up.
	New(opts Options) (Runtime, error)
	// ValidateOptions checks opts without starting anything: the run
	// options are understood, the runtime's command exists.
	ValidateOptions(opts Options) error
}

// ErrNotLinked is wrapped by the error of New, Lookup and ValidateOptions
// for a runtime whose package the program does not import.
var ErrNotLinked = registry.ErrNotLinked

var drivers = registry.New[Driver]("container runtime", map[string]string{
	Docker:      registry.ModulePath + "/container/docker",
	Singularity: registry.ModulePath + "/container/singularity",
	Shifter:     registry.ModulePath + "/container/shifter",
}, "use docker, singularity or shifter")

// Register makes a runtime available under name (its worker_mode). It
// panics if name is empty, d is nil or name is registered twice.
func Register(name string, d Driver) { drivers.Register(name, d) }

// Lookup returns the driver of runtime name, or an error wrapping
// ErrNotLinked that names the package to import.
func Lookup(name string) (Driver, error) { return drivers.Lookup(name) }

// Names returns the registered runtimes, sorted.
func Names() []string { return drivers.Names() }

// New returns the runtime called name with opts.
func New(name string, opts Options) (Runtime, error) {
	d, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return d.New(opts)
}

// ValidateOptions checks opts for the runtime called name without
// starting anything.
func ValidateOptions(name string, opts Options) error {
	d, err := Lookup(name)
	if err != nil {
		return err
	}
	return d.ValidateOptions(opts)
}

// Optional features of a Runtime, found by type assertion.

// Pinger is a runtime behind a daemon that can be asked whether it
// answers; the manager asks before it starts containers, so that a
// missing daemon is one clear error.
type Pinger interface {
	Ping(ctx context.Context) error
}

// OrphanRemover is a runtime whose containers outlive a manager that was
// killed; the manager calls RemoveOrphans when it starts.
type OrphanRemover interface {
	// RemoveOrphans removes the funcx containers on this host whose
	// manager process is gone, and returns how many.
	RemoveOrphans(ctx context.Context) (int, error)
}

// RunRemover is a runtime that can remove every container of an endpoint
// run; the engine calls it when it stops.
type RunRemover interface {
	RemoveRun(ctx context.Context, runID string) (int, error)
}
