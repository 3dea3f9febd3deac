// Package singularity is the Singularity/Apptainer container runtime:
// `apptainer exec --bind … IMAGE WORKER…` (or `singularity`, whichever is
// on PATH), one runtime process per worker container. Importing it
// registers the runtime as worker_mode "singularity".
package singularity

import (
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/container/internal/execrt"
)

// Name is the runtime's worker_mode name.
const Name = container.Singularity

// driver tries apptainer, then singularity on PATH without
// container.runtime_command.
var driver = execrt.Driver{
	Name:       Name,
	Candidates: []string{"apptainer", "singularity"},
	Argv: func(cmd string, o container.Options, binds []container.Bind, spec container.Spec) []string {
		return Argv(cmd, spec.Image, o.RunOptions, binds, o.GPUs, spec.Command)
	},
}

func init() { container.Register(Name, driver) }

// New returns the runtime. It does no I/O: the command is looked up on
// PATH when the first container starts.
func New(opts container.Options) (container.Runtime, error) { return driver.New(opts) }

// Argv is `CMD exec [RUN_OPTIONS] --bind B... [--nv] IMAGE COMMAND...`.
// The environment reaches the worker through the runtime process's own
// environment, which Singularity and Apptainer pass on.
func Argv(cmd, image string, runOptions []string, binds []container.Bind, gpus bool, command []string) []string {
	argv := []string{cmd, "exec"}
	argv = append(argv, runOptions...)
	for _, b := range binds {
		argv = append(argv, "--bind", b.String())
	}
	if gpus {
		argv = append(argv, "--nv")
	}
	argv = append(argv, image)
	return append(argv, command...)
}
