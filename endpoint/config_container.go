package endpoint

import (
	"os"
	"time"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/manager"
)

// Defaults of ContainerConfig.
const (
	DefaultWorkerMaxIdleTime     = manager.DefaultWorkerMaxIdle
	DefaultContainerStartTimeout = manager.DefaultContainerStartTimeout
)

// ContainerConfig is the [container] table: the container runtime options
// for worker_mode docker, singularity and shifter. See docs/containers.md.
type ContainerConfig struct {
	// Images are the container types served under container_routing =
	// hard: the provider's blocks are kept per image (and one set for
	// tasks without an image), each block's manager running containers of
	// its image only. Under soft routing they are optional: any image a
	// task names starts on demand. Defaults to none.
	Images []string `toml:"images"`
	// RunOptions are extra options given to the runtime when a worker
	// container starts: for docker a subset of `docker run` options
	// (--network, --user, --env, --workdir, --privileged, --cap-add,
	// --ipc, --cpus, --memory, --shm-size, --init), for singularity
	// options of `exec`, for shifter options of `shifter`. Defaults to
	// none.
	RunOptions []string `toml:"run_options"`
	// Binds are host:container[:ro] bind mounts added to every worker
	// container. Defaults to none.
	Binds []string `toml:"binds"`
	// GPUs gives worker containers the node's GPUs (docker: all GPU
	// devices, singularity: --nv, shifter: --module=gpu). Defaults to
	// false.
	GPUs bool `toml:"gpus"`
	// RuntimeCommand is the singularity or shifter executable. Defaults
	// to apptainer or singularity, whichever is on PATH, and to shifter.
	RuntimeCommand string `toml:"runtime_command"`
	// WorkerBinary is the statically linked worker executable mounted
	// into every container (build it with CGO_ENABLED=0 go build; it must
	// call worker.Main or endpoint.ServeChildRole). Defaults to the first
	// word of worker_command, else the manager's executable; either must
	// then be static.
	WorkerBinary string `toml:"worker_binary"`
	// WorkerMaxIdleTime is how long an idle container is kept under soft
	// routing before it is stopped. Defaults to 1m.
	WorkerMaxIdleTime time.Duration `toml:"worker_max_idletime"`
	// StartTimeout bounds how long a container may take to start and
	// connect to its manager. Defaults to 2m.
	StartTimeout time.Duration `toml:"start_timeout"`
}

func (k ContainerConfig) withDefaults() ContainerConfig {
	if k.WorkerMaxIdleTime == 0 {
		k.WorkerMaxIdleTime = DefaultWorkerMaxIdleTime
	}
	if k.StartTimeout == 0 {
		k.StartTimeout = DefaultContainerStartTimeout
	}
	return k
}

// workerBinary is the binary mounted into containers.
func (k *ContainerConfig) workerBinary(c *Config) string {
	switch {
	case k.WorkerBinary != "":
		return k.WorkerBinary
	case len(c.WorkerCommand) > 0:
		return c.WorkerCommand[0]
	case len(c.ManagerCommand) > 0:
		return c.ManagerCommand[0]
	}
	exe, _ := os.Executable()
	return exe
}

// validate reports impossible values through bad, naming the config.toml
// key. c is the whole configuration, for rules that span tables.
func (k *ContainerConfig) validate(c *Config, bad func(key, format string, args ...any)) {
	if k.WorkerMaxIdleTime < 0 {
		bad("container.worker_max_idletime", "%s is negative", k.WorkerMaxIdleTime)
	}
	if k.StartTimeout < 0 {
		bad("container.start_timeout", "%s is negative", k.StartTimeout)
	}
	opts := container.Options{RunOptions: k.RunOptions, GPUs: k.GPUs, Command: k.RuntimeCommand}
	for _, s := range k.Binds {
		b, err := container.ParseBind(s)
		if err != nil {
			bad("container.binds", "%v", err)
			continue
		}
		opts.Binds = append(opts.Binds, b)
	}
	for _, img := range k.Images {
		if img == "" {
			bad("container.images", "an empty image name: tasks without an image run in plain worker processes anyway")
		}
	}
	if !c.containerMode() {
		return
	}
	// A runtime that is not linked is worker_mode's error, which names
	// the import.
	if _, err := container.Lookup(c.WorkerMode); err == nil {
		if err := container.ValidateOptions(c.WorkerMode, opts); err != nil {
			key := "container.run_options"
			if c.WorkerMode != WorkerModeDocker {
				key = "container.runtime_command"
			}
			bad(key, "%v", err)
		}
	}
	if c.ContainerRouting == RoutingHard && len(k.Images) == 0 {
		bad("container.images", "empty: with container_routing = \"hard\" every manager serves one image, so list the images (or use container_routing = \"soft\")")
	}
	if err := container.CheckStatic(k.workerBinary(c)); err != nil {
		bad("container.worker_binary", "%v", err)
	}
}
