package endpoint

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/routing"
	"github.com/funcx-go/funcx/worker"
)

// Defaults of Config. They are those of funcX where funcX has one.
const (
	DefaultHeartbeatPeriod    = 30 * time.Second
	DefaultHeartbeatThreshold = 120 * time.Second
	DefaultCoresPerWorker     = 1.0
	DefaultProviderType       = "local"
	DefaultLauncher           = "single_node"
	DefaultInitBlocks         = 1
	DefaultMaxBlocks          = 1
	DefaultMaxIdleTime        = 2 * time.Minute
	DefaultWorkerMode         = WorkerModeNoContainer
	DefaultContainerRouting   = RoutingHard
	DefaultPythonCommand      = worker.DefaultPythonCommand
	// DefaultSchedulerCommandTimeout bounds sbatch, squeue, qsub and
	// friends.
	DefaultSchedulerCommandTimeout = 30 * time.Second
)

// Worker modes (worker_mode).
const (
	WorkerModeNoContainer = "no_container"
	WorkerModeDocker      = "docker"
	WorkerModeSingularity = "singularity"
	WorkerModeShifter     = "shifter"
)

// Container routing strategies (container_routing).
const (
	RoutingHard = "hard"
	RoutingSoft = "soft"
)

// Config is an endpoint's configuration: the Go form of a profile's
// config.toml. The zero value runs one local block of workers on this
// machine.
type Config struct {
	// DisplayName is shown in listings. Defaults to the profile name.
	DisplayName string `toml:"display_name"`

	// HeartbeatPeriod is how often the interchange and managers signal
	// they are alive. Defaults to DefaultHeartbeatPeriod (30s).
	HeartbeatPeriod time.Duration `toml:"heartbeat_period"`
	// HeartbeatThreshold is how long silence lasts before a manager (or,
	// from its side, the interchange) counts as lost. Defaults to
	// DefaultHeartbeatThreshold (120s).
	HeartbeatThreshold time.Duration `toml:"heartbeat_threshold"`

	// MaxWorkersPerNode caps the workers a manager runs. Defaults to 0:
	// as many as cores and memory allow.
	MaxWorkersPerNode int `toml:"max_workers_per_node"`
	// CoresPerWorker is the cores each worker gets. Defaults to 1.
	CoresPerWorker float64 `toml:"cores_per_worker"`
	// MemPerWorker is the memory in bytes each worker gets; it bounds the
	// worker count by the node's available memory. Defaults to 0: unbounded.
	MemPerWorker int64 `toml:"mem_per_worker"`
	// AvailableAccelerators lists device IDs; one worker runs per device,
	// with CUDA_VISIBLE_DEVICES and friends set. Defaults to none.
	AvailableAccelerators []string `toml:"available_accelerators"`
	// PrefetchCapacity is how many tasks a manager queues beyond one per
	// worker. Defaults to 0.
	PrefetchCapacity int `toml:"prefetch_capacity"`
	// MaxRetriesOnSystemFailure is how often a task lost with its manager
	// or worker is run again before it fails. Defaults to 0.
	MaxRetriesOnSystemFailure int `toml:"max_retries_on_system_failure"`

	// WorkerMode is no_container, docker, singularity or shifter.
	// Defaults to no_container. The [container] table configures the
	// others (docs/containers.md). A container runtime must be linked
	// into the program: import its package (container/docker, ...) or
	// endpoint/backends.
	WorkerMode string `toml:"worker_mode"`
	// ContainerRouting is hard or soft. Defaults to hard.
	ContainerRouting string `toml:"container_routing"`

	// WorkerInit is shell code run in each block before the manager
	// starts (module loads, environment activation). Defaults to none.
	WorkerInit string `toml:"worker_init"`
	// ManagerCommand starts a manager; it must call manager.Main (or
	// ServeChildRole). Defaults to the running executable.
	ManagerCommand []string `toml:"manager_command"`
	// WorkerCommand starts a worker; it must call worker.Main (or
	// ServeChildRole). Defaults to the manager's own executable.
	WorkerCommand []string `toml:"worker_command"`
	// PythonCommand is the interpreter of Python functions, one
	// long-lived process per worker: a path, such as a conda
	// environment's bin/python, or a name looked up in the workers' PATH
	// (after worker_init; inside the container in a container mode).
	// Defaults to DefaultPythonCommand (python3).
	PythonCommand string `toml:"python_command"`

	// InterchangeAddr is where the interchange listens for managers.
	// Defaults to 127.0.0.1 on a free port, which suits the local
	// provider; batch providers need an address compute nodes reach.
	InterchangeAddr string `toml:"interchange_addr"`
	// AdvertiseAddr is the address managers are told to dial, when it
	// differs from InterchangeAddr (a wildcard listen address, NAT).
	// Defaults to the listener's address.
	AdvertiseAddr string `toml:"advertise_addr"`

	// LogDir receives block scripts and their output. Defaults to a
	// temporary directory removed when the engine stops.
	LogDir string `toml:"log_dir"`

	// Container is the [container] table: images and runtime options for
	// worker_mode docker, singularity and shifter.
	Container ContainerConfig `toml:"container"`

	// Router decides which manager gets which pending tasks; see package
	// routing for what a Router must keep to. Defaults to nil: chosen
	// from WorkerMode and ContainerRouting, routing.Plain without
	// containers, routing.Hard or routing.Soft with them, and
	// routing.Hard for Kubernetes pods per image.
	Router routing.Router `toml:"-"`

	Provider ProviderConfig `toml:"provider"`
	Strategy StrategyConfig `toml:"strategy"`

	// Logger receives the engine's log; nil means quiet. Managers log to
	// their block's output in LogDir.
	Logger *slog.Logger `toml:"-"`
	// ManagerLogLevel is the log level of managers: debug, info, warn or
	// error. Defaults to info.
	ManagerLogLevel string `toml:"manager_log_level"`
}

// ProviderConfig is the [provider] table: where blocks come from and how
// many.
type ProviderConfig struct {
	// Type is local, slurm, pbs or kubernetes, or the name of a provider
	// type a package of your own registers (provider.Register). Defaults
	// to local. Every type but local must be linked into the program:
	// import its package (provider/slurm, ...) or endpoint/backends. See
	// docs/slurm.md and docs/pbs-kubernetes.md.
	Type string `toml:"type"`
	// InitBlocks are started at once. Defaults to 1.
	InitBlocks int `toml:"init_blocks"`
	// MinBlocks are kept even when idle. Defaults to 0.
	MinBlocks int `toml:"min_blocks"`
	// MaxBlocks is the most blocks at once. Defaults to 1.
	MaxBlocks int `toml:"max_blocks"`
	// NodesPerBlock is the nodes in each block. Defaults to 1.
	NodesPerBlock int `toml:"nodes_per_block"`
	// Parallelism is the ratio of task slots to tasks the scaler aims for
	// (Parsl's parallelism). Defaults to 1.
	Parallelism float64 `toml:"parallelism"`
	// Walltime is the life of a block; managers drain before it ends.
	// Defaults to 0: no limit (local blocks).
	Walltime time.Duration `toml:"walltime"`
	// Launcher starts managers on the block's nodes: single_node, simple,
	// srun, mpiexec or aprun. Defaults to single_node.
	Launcher string `toml:"launcher"`
	// ManagersPerNode is how many managers the launcher starts per node.
	// Defaults to 1.
	ManagersPerNode int `toml:"managers_per_node"`
	// SchedulerOptions, Partition, Account, QOS, Queue pass through to
	// batch schedulers.
	SchedulerOptions string `toml:"scheduler_options"`
	Partition        string `toml:"partition"`
	Account          string `toml:"account"`
	QOS              string `toml:"qos"`
	Queue            string `toml:"queue"`
	// Constraint selects node features (Slurm --constraint). Defaults to
	// none.
	Constraint string `toml:"constraint"`
	// Exclusive asks for whole nodes. Defaults to false.
	Exclusive bool `toml:"exclusive"`
	// CoresPerNode and MemPerNode (bytes) request resources per node from
	// the scheduler. Default to 0: the scheduler's default.
	CoresPerNode int   `toml:"cores_per_node"`
	MemPerNode   int64 `toml:"mem_per_node"`
	// GPUsPerNode requests that many GPUs per node (Slurm --gpus-per-node,
	// PBS ngpus). Defaults to 0.
	GPUsPerNode int `toml:"gpus_per_node"`
	// CommandTimeout bounds every scheduler command (sbatch, squeue,
	// qsub, ...). Defaults to DefaultSchedulerCommandTimeout.
	CommandTimeout time.Duration `toml:"command_timeout"`

	// Kubernetes is the [provider.kubernetes] table, used when Type is
	// kubernetes.
	Kubernetes KubernetesConfig `toml:"kubernetes"`

	// Implementation is the provider blocks come from: your own, or one
	// built by hand. The engine calls its Start (if it is a
	// provider.Starter) before the first block and its Shutdown (if a
	// provider.Shutdowner) when it stops. Type then only names it in logs
	// and status, and the [provider.TYPE] table is not read. Defaults to
	// nil: the provider type Type names, built by its registered driver
	// (provider.Register).
	Implementation provider.Provider `toml:"-"`
}

// StrategyConfig is the [strategy] table.
type StrategyConfig struct {
	// MaxIdleTime is how long a block may idle before it is scaled in.
	// Defaults to DefaultMaxIdleTime (2m).
	MaxIdleTime time.Duration `toml:"max_idletime"`
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.HeartbeatPeriod == 0 {
		c.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if c.HeartbeatThreshold == 0 {
		c.HeartbeatThreshold = DefaultHeartbeatThreshold
	}
	if c.CoresPerWorker == 0 {
		c.CoresPerWorker = DefaultCoresPerWorker
	}
	if c.WorkerMode == "" {
		c.WorkerMode = DefaultWorkerMode
	}
	if c.ContainerRouting == "" {
		c.ContainerRouting = DefaultContainerRouting
	}
	if c.PythonCommand == "" {
		c.PythonCommand = DefaultPythonCommand
	}
	if len(c.ManagerCommand) == 0 {
		if exe, err := os.Executable(); err == nil {
			c.ManagerCommand = []string{exe}
		}
	}
	if c.InterchangeAddr == "" {
		c.InterchangeAddr = "127.0.0.1:0"
	}
	if c.ManagerLogLevel == "" {
		c.ManagerLogLevel = "info"
	}
	p := &c.Provider
	if p.Type == "" {
		p.Type = DefaultProviderType
	}
	if p.InitBlocks == 0 && p.MaxBlocks == 0 {
		p.InitBlocks = DefaultInitBlocks
	}
	if p.MaxBlocks == 0 {
		p.MaxBlocks = max(DefaultMaxBlocks, p.InitBlocks, p.MinBlocks)
	}
	if p.NodesPerBlock == 0 {
		p.NodesPerBlock = 1
	}
	if p.Parallelism == 0 {
		p.Parallelism = 1
	}
	if p.Launcher == "" {
		p.Launcher = DefaultLauncher
	}
	if p.ManagersPerNode == 0 {
		p.ManagersPerNode = 1
	}
	if p.CommandTimeout == 0 {
		p.CommandTimeout = DefaultSchedulerCommandTimeout
	}
	p.Kubernetes = p.Kubernetes.WithDefaults()
	c.Container = c.Container.withDefaults()
	if c.Strategy.MaxIdleTime == 0 {
		c.Strategy.MaxIdleTime = DefaultMaxIdleTime
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every impossible value, naming the option as the
// profile's config.toml spells it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.HeartbeatPeriod < 0 {
		bad("heartbeat_period", "%s is negative", c.HeartbeatPeriod)
	}
	if c.HeartbeatThreshold <= c.HeartbeatPeriod {
		bad("heartbeat_threshold", "%s must be longer than heartbeat_period (%s)", c.HeartbeatThreshold, c.HeartbeatPeriod)
	}
	if c.MaxWorkersPerNode < 0 {
		bad("max_workers_per_node", "%d is negative", c.MaxWorkersPerNode)
	}
	if c.CoresPerWorker <= 0 || math.IsNaN(c.CoresPerWorker) || math.IsInf(c.CoresPerWorker, 0) {
		bad("cores_per_worker", "%v must be a positive number", c.CoresPerWorker)
	}
	if c.MemPerWorker < 0 {
		bad("mem_per_worker", "%d is negative", c.MemPerWorker)
	}
	if c.PrefetchCapacity < 0 {
		bad("prefetch_capacity", "%d is negative", c.PrefetchCapacity)
	}
	if c.MaxRetriesOnSystemFailure < 0 {
		bad("max_retries_on_system_failure", "%d is negative", c.MaxRetriesOnSystemFailure)
	}
	if c.WorkerMode != WorkerModeNoContainer {
		if _, err := container.Lookup(c.WorkerMode); err != nil {
			errs = append(errs, fmt.Errorf("worker_mode: %w", err))
		}
	}
	switch c.ContainerRouting {
	case RoutingHard, RoutingSoft:
	default:
		bad("container_routing", "%q is unknown; use hard or soft", c.ContainerRouting)
	}
	if len(c.ManagerCommand) == 0 {
		bad("manager_command", "empty, and this executable's path is unknown")
	}
	if strings.TrimSpace(c.PythonCommand) != c.PythonCommand || strings.ContainsRune(c.PythonCommand, 0) ||
		!strings.HasPrefix(c.PythonCommand, "/") && strings.ContainsAny(c.PythonCommand, " \t") {
		bad("python_command", "%q: give the interpreter's path or name alone, without arguments or surrounding spaces", c.PythonCommand)
	}
	p := &c.Provider
	if p.Implementation == nil {
		if _, err := provider.Lookup(p.Type); err != nil {
			errs = append(errs, fmt.Errorf("provider.type: %w", err))
		}
	}
	if p.InitBlocks < 0 {
		bad("provider.init_blocks", "%d is negative", p.InitBlocks)
	}
	if p.MinBlocks < 0 {
		bad("provider.min_blocks", "%d is negative", p.MinBlocks)
	}
	if p.MaxBlocks < 1 {
		bad("provider.max_blocks", "%d must be at least 1", p.MaxBlocks)
	}
	if p.MinBlocks > p.MaxBlocks {
		bad("provider.min_blocks", "%d exceeds provider.max_blocks (%d)", p.MinBlocks, p.MaxBlocks)
	}
	if p.InitBlocks > p.MaxBlocks {
		bad("provider.init_blocks", "%d exceeds provider.max_blocks (%d)", p.InitBlocks, p.MaxBlocks)
	}
	if p.NodesPerBlock < 1 {
		bad("provider.nodes_per_block", "%d must be at least 1", p.NodesPerBlock)
	}
	if p.ManagersPerNode < 1 {
		bad("provider.managers_per_node", "%d must be at least 1", p.ManagersPerNode)
	}
	if p.Parallelism <= 0 || p.Parallelism > 1 || math.IsNaN(p.Parallelism) {
		bad("provider.parallelism", "%v must be above 0 and at most 1", p.Parallelism)
	}
	if p.Walltime < 0 {
		bad("provider.walltime", "%s is negative", p.Walltime)
	}
	if _, err := provider.LauncherByName(p.Launcher); err != nil {
		bad("provider.launcher", "%v", err)
	}
	if c.Strategy.MaxIdleTime < 0 {
		bad("strategy.max_idletime", "%s is negative", c.Strategy.MaxIdleTime)
	}
	for _, f := range []struct {
		key   string
		value int64
	}{
		{"provider.cores_per_node", int64(p.CoresPerNode)},
		{"provider.mem_per_node", p.MemPerNode},
		{"provider.gpus_per_node", int64(p.GPUsPerNode)},
		{"provider.command_timeout", int64(p.CommandTimeout)},
	} {
		if f.value < 0 {
			bad(f.key, "%d is negative", f.value)
		}
	}
	c.validateKubernetes(bad)
	errs = append(errs, c.validateProviderSettings()...)
	c.Container.validate(c, bad)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("endpoint config: %w", err)
	}
	return nil
}

// workersPerManager estimates the workers one manager runs on a node like
// this one, for the scaler's capacity arithmetic before managers connect.
func (c *Config) workersPerManager() int {
	n := int(math.Floor(float64(runtime.NumCPU()) / c.CoresPerWorker))
	if c.MaxWorkersPerNode > 0 {
		n = min(n, c.MaxWorkersPerNode)
	}
	if len(c.AvailableAccelerators) > 0 {
		n = min(n, len(c.AvailableAccelerators))
	}
	return max(n, 1)
}
