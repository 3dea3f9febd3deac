package manager

import (
	"errors"
	"fmt"
	"time"

	"github.com/funcx-go/funcx/container"
)

// Defaults of ContainerConfig.
const (
	DefaultWorkerMaxIdle         = time.Minute
	DefaultContainerStartTimeout = 2 * time.Minute
)

// ContainerConfig makes a manager run its workers in containers. The zero
// value runs plain worker processes.
type ContainerConfig struct {
	// Runtime is docker, singularity or shifter; empty runs plain worker
	// processes and ignores the other fields. Defaults to empty.
	Runtime string `json:"runtime,omitempty"`
	// Types are the container types (images) the manager serves under
	// hard routing: exactly one, whose containers start with the manager
	// and are kept. Empty means soft routing: containers of any type
	// start on demand, an idle one of another type is evicted when every
	// slot is taken, and idle ones retire after MaxIdle. Defaults to
	// empty.
	Types []string `json:"types,omitempty"`
	// Options are the runtime's options (run options, binds, GPUs, the
	// runtime's command).
	RunOptions     []string `json:"run_options,omitempty"`
	Binds          []string `json:"binds,omitempty"`
	GPUs           bool     `json:"gpus,omitempty"`
	RuntimeCommand string   `json:"runtime_command,omitempty"`
	// WorkerBinary is the static worker executable mounted into every
	// container (at the same path). Defaults to the first word of the
	// manager's WorkerCommand, which must then be statically linked.
	WorkerBinary string `json:"worker_binary,omitempty"`
	// MaxIdle is how long an idle container is kept under soft routing.
	// Defaults to DefaultWorkerMaxIdle.
	MaxIdle time.Duration `json:"max_idle,omitempty"`
	// StartTimeout bounds how long a container may take to start and
	// connect. Defaults to DefaultContainerStartTimeout.
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
	// SocketDir is where the manager makes the directory of its workers'
	// sockets, which is mounted into every container. Defaults to the
	// system's temporary directory.
	SocketDir string `json:"socket_dir,omitempty"`
}

func (c ContainerConfig) enabled() bool { return c.Runtime != "" }

// soft reports whether the manager serves any container type on demand.
func (c ContainerConfig) soft() bool { return c.enabled() && len(c.Types) == 0 }

func (c ContainerConfig) withDefaults(workerCommand []string) ContainerConfig {
	if !c.enabled() {
		return c
	}
	if c.WorkerBinary == "" && len(workerCommand) > 0 {
		c.WorkerBinary = workerCommand[0]
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = DefaultWorkerMaxIdle
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultContainerStartTimeout
	}
	return c
}

func (c *ContainerConfig) validate() error {
	if !c.enabled() {
		return nil
	}
	var errs []error
	if len(c.Types) > 1 {
		errs = append(errs, fmt.Errorf("Container.Types %q: a hard-routed manager serves exactly one type", c.Types))
	}
	if c.MaxIdle < 0 || c.StartTimeout < 0 {
		errs = append(errs, errors.New("Container.MaxIdle and Container.StartTimeout must not be negative"))
	}
	if err := container.CheckStatic(c.WorkerBinary); err != nil {
		errs = append(errs, fmt.Errorf("Container.WorkerBinary: %w", err))
	}
	if _, err := c.options(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// options converts the runtime's options.
func (c *ContainerConfig) options() (container.Options, error) {
	o := container.Options{RunOptions: c.RunOptions, GPUs: c.GPUs, Command: c.RuntimeCommand}
	for _, s := range c.Binds {
		b, err := container.ParseBind(s)
		if err != nil {
			return o, fmt.Errorf("Container.Binds: %w", err)
		}
		o.Binds = append(o.Binds, b)
	}
	if err := container.ValidateOptions(c.Runtime, o); err != nil {
		return o, fmt.Errorf("Container: %w", err)
	}
	return o, nil
}
