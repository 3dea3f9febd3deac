// Package shifter is the Shifter container runtime: `shifter
// --image=IMAGE --volume=… -- WORKER…`, one runtime process per worker
// container. Importing it registers the runtime as worker_mode "shifter".
package shifter

import (
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/container/internal/execrt"
)

// Name is the runtime's worker_mode name.
const Name = container.Shifter

// driver tries shifter on PATH without container.runtime_command.
var driver = execrt.Driver{
	Name:       Name,
	Candidates: []string{"shifter"},
	Argv: func(cmd string, o container.Options, binds []container.Bind, spec container.Spec) []string {
		return Argv(cmd, spec.Image, o.RunOptions, binds, o.GPUs, spec.Command)
	},
}

func init() { container.Register(Name, driver) }

// New returns the runtime. It does no I/O: the command is looked up on
// PATH when the first container starts.
func New(opts container.Options) (container.Runtime, error) { return driver.New(opts) }

// Argv is `CMD --image=IMAGE --volume=B... [--module=gpu] [RUN_OPTIONS]
// -- COMMAND...`. Shifter passes the environment on too.
func Argv(cmd, image string, runOptions []string, binds []container.Bind, gpus bool, command []string) []string {
	argv := []string{cmd, "--image=" + image}
	for _, b := range binds {
		argv = append(argv, "--volume="+b.String())
	}
	if gpus {
		argv = append(argv, "--module=gpu")
	}
	argv = append(argv, runOptions...)
	argv = append(argv, "--")
	return append(argv, command...)
}
