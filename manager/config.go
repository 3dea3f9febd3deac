package manager

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/funcx-go/funcx/internal/wire"
)

// Defaults of Config.
const (
	DefaultHeartbeatPeriod    = 30 * time.Second
	DefaultHeartbeatThreshold = 120 * time.Second
	DefaultCoresPerWorker     = 1.0
	DefaultGracePeriod        = 10 * time.Second
	DefaultMinDrainPeriod     = 30 * time.Second
	// DefaultWorkerQueue is deep enough that a worker's results and its
	// next tasks travel in batches of several: with warm Python tasks,
	// which the worker passes on to its interpreter ahead of their turn,
	// 8 rather than 4 cut the manager's and the workers' CPU per task by
	// about a quarter. It matters only when the manager holds more tasks
	// than workers (Prefetch).
	DefaultWorkerQueue = 8
)

// Config configures a manager. It travels as JSON in FUNCX_MANAGER_CONFIG
// when a provider starts a manager process.
type Config struct {
	// InterchangeAddr is the interchange's host:port. Required.
	InterchangeAddr string `json:"interchange_addr"`
	// Secret authenticates the manager to the interchange. Required.
	Secret string `json:"secret"`
	// ManagerID names the manager; unique per interchange. Defaults to
	// BlockID.hostname.pid.
	ManagerID string `json:"manager_id,omitempty"`
	// BlockID is the provider block the manager belongs to.
	BlockID string `json:"block_id,omitempty"`
	// RunID marks every process of one endpoint run: workers get it as
	// FUNCX_RUN_ID, so that leftovers of a crashed run can be found.
	RunID string `json:"run_id,omitempty"`

	// MaxWorkers caps the workers on this node (max_workers_per_node).
	// Defaults to no cap beyond cores and memory.
	MaxWorkers int `json:"max_workers,omitempty"`
	// CoresPerWorker is how many cores one worker gets; the node's cores
	// divided by it bounds the worker count. Defaults to 1.
	CoresPerWorker float64 `json:"cores_per_worker,omitempty"`
	// MemPerWorker is the memory in bytes one worker gets; available
	// memory divided by it bounds the worker count. Defaults to 0 (memory
	// does not bound the count).
	MemPerWorker int64 `json:"mem_per_worker,omitempty"`
	// AvailableAccelerators lists device IDs; when set, one worker runs per
	// device with CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES and
	// ZE_AFFINITY_MASK set to it.
	AvailableAccelerators []string `json:"available_accelerators,omitempty"`
	// Prefetch is how many tasks beyond one per worker the manager queues,
	// hiding the interchange round trip. Defaults to 0.
	Prefetch int `json:"prefetch,omitempty"`
	// WorkerQueue is how many of the manager's queued tasks a worker may
	// hold behind the one it runs, hiding the manager round trip between
	// short tasks (see pipeline.go). Zero means DefaultWorkerQueue; a
	// negative value sends a worker a task only when it is idle.
	WorkerQueue int `json:"worker_queue,omitempty"`

	// HeartbeatPeriod and HeartbeatThreshold apply until the interchange's
	// welcome overrides them; the threshold also bounds how long the
	// manager keeps trying to connect. Defaults to DefaultHeartbeatPeriod
	// and DefaultHeartbeatThreshold.
	HeartbeatPeriod    time.Duration `json:"heartbeat_period,omitempty"`
	HeartbeatThreshold time.Duration `json:"heartbeat_threshold,omitempty"`

	// WorkerCommand starts one worker. Defaults to this executable, which
	// must call worker.Main (endpoint.ServeChildRole does).
	WorkerCommand []string `json:"worker_command,omitempty"`
	// WorkerEnv is added to the workers' environment.
	WorkerEnv map[string]string `json:"worker_env,omitempty"`
	// PythonCommand is the interpreter the workers run Python functions
	// in (worker.EnvPythonCommand): a path, or a name looked up in the
	// worker's PATH (inside its container, for container workers).
	// Defaults to worker.DefaultPythonCommand.
	PythonCommand string `json:"python_command,omitempty"`

	// Walltime is how long the manager's block lives; zero means no limit.
	// The manager drains DrainPeriod before it ends.
	Walltime time.Duration `json:"walltime,omitempty"`
	// DrainPeriod is how long before the walltime the manager stops taking
	// tasks. Defaults to a tenth of Walltime, at least DefaultMinDrainPeriod
	// (and at most half the walltime).
	DrainPeriod time.Duration `json:"drain_period,omitempty"`
	// GracePeriod is how long running tasks may finish when the manager is
	// asked to stop. Defaults to DefaultGracePeriod.
	GracePeriod time.Duration `json:"grace_period,omitempty"`

	// MaxFrame caps one frame on the wire. Defaults to wire.DefaultMaxFrame.
	MaxFrame int `json:"max_frame,omitempty"`

	// Container runs the workers in containers (worker_mode docker,
	// singularity, shifter). Defaults to plain worker processes.
	Container ContainerConfig `json:"container,omitzero"`

	// Logger receives the manager's log; nil means quiet.
	Logger *slog.Logger `json:"-"`
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	host, _ := os.Hostname()
	if c.ManagerID == "" {
		c.ManagerID = fmt.Sprintf("%s.%s.%d", cmpOr(c.BlockID, "manager"), host, os.Getpid())
	}
	if c.CoresPerWorker == 0 {
		c.CoresPerWorker = DefaultCoresPerWorker
	}
	if c.HeartbeatPeriod == 0 {
		c.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if c.HeartbeatThreshold == 0 {
		c.HeartbeatThreshold = DefaultHeartbeatThreshold
	}
	if len(c.WorkerCommand) == 0 {
		if exe, err := os.Executable(); err == nil {
			c.WorkerCommand = []string{exe}
		}
	}
	if c.Walltime > 0 && c.DrainPeriod == 0 {
		c.DrainPeriod = min(max(c.Walltime/10, DefaultMinDrainPeriod), c.Walltime/2)
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.WorkerQueue == 0 {
		c.WorkerQueue = DefaultWorkerQueue
	}
	c.Container = c.Container.withDefaults(c.WorkerCommand)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (c *Config) validate() error {
	var errs []error
	if c.InterchangeAddr == "" {
		errs = append(errs, errors.New("InterchangeAddr is empty"))
	}
	if c.Secret == "" {
		errs = append(errs, errors.New("Secret is empty"))
	}
	if c.MaxWorkers < 0 {
		errs = append(errs, fmt.Errorf("MaxWorkers %d is negative", c.MaxWorkers))
	}
	if c.CoresPerWorker < 0 || math.IsNaN(c.CoresPerWorker) || math.IsInf(c.CoresPerWorker, 0) {
		errs = append(errs, fmt.Errorf("CoresPerWorker %v is not a positive number", c.CoresPerWorker))
	}
	if c.MemPerWorker < 0 {
		errs = append(errs, fmt.Errorf("MemPerWorker %d is negative", c.MemPerWorker))
	}
	if c.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("Prefetch %d is negative", c.Prefetch))
	}
	if c.HeartbeatThreshold <= c.HeartbeatPeriod {
		errs = append(errs, fmt.Errorf("HeartbeatThreshold %s must exceed HeartbeatPeriod %s", c.HeartbeatThreshold, c.HeartbeatPeriod))
	}
	if len(c.WorkerCommand) == 0 {
		errs = append(errs, errors.New("WorkerCommand is empty and this executable's path is unknown"))
	}
	if c.Walltime < 0 || c.DrainPeriod < 0 || c.GracePeriod < 0 {
		errs = append(errs, errors.New("Walltime, DrainPeriod and GracePeriod must not be negative"))
	}
	if err := c.Container.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("manager config: %w", err)
	}
	return nil
}

// WorkerCount is how many workers a node with the given cores and memory
// (bytes; 0 if unknown) runs under c: the cores divided by CoresPerWorker,
// the memory divided by MemPerWorker, MaxWorkers, and one per accelerator
// when accelerators are listed — whichever is least, and at least one.
func (c *Config) WorkerCount(cores int, memBytes int64) int {
	n := math.MaxInt
	if c.CoresPerWorker > 0 {
		n = int(math.Floor(float64(cores) / c.CoresPerWorker))
	}
	if c.MemPerWorker > 0 && memBytes > 0 {
		n = min(n, int(memBytes/c.MemPerWorker))
	}
	if c.MaxWorkers > 0 {
		n = min(n, c.MaxWorkers)
	}
	if len(c.AvailableAccelerators) > 0 {
		n = min(n, len(c.AvailableAccelerators))
	}
	return max(n, 1)
}

// nodeResources reports this node's usable cores and available memory.
func nodeResources() (int, int64) {
	return runtime.NumCPU(), availableMemory()
}
