package endpoint

// ContainerConfig is the [container] table: the container runtime options
// for worker_mode docker, singularity and shifter.
type ContainerConfig struct {
	// RunOptions are extra options given to the runtime when a worker
	// container starts (docker create options, singularity exec options).
	RunOptions []string `toml:"run_options"`
	// Binds are host:container bind mounts added to every worker
	// container.
	Binds []string `toml:"binds"`
}

func (k ContainerConfig) withDefaults() ContainerConfig { return k }

// validate reports impossible values through bad, naming the config.toml
// key. c is the whole configuration, for rules that span tables.
func (k *ContainerConfig) validate(c *Config, bad func(key, format string, args ...any)) {}
