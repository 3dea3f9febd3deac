package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Provider starts, watches and stops blocks on one kind of resource.
//
// Implementations must be safe for concurrent use. Status and Cancel take
// batches because schedulers answer many jobs in one command (squeue,
// qstat), and one command per block would not scale.
type Provider interface {
	// Submit starts one block and returns the scheduler's ID for it. An
	// error means no block was started, and its message carries what the
	// scheduler said, so that the user sees why.
	Submit(ctx context.Context, job Job) (JobID, error)
	// Status reports the state of each job, one JobStatus per ID in the
	// order given. An ID the provider does not know (never submitted, or
	// forgotten by the scheduler) is JobMissing, not an error: an error
	// means the scheduler could not be asked at all.
	Status(ctx context.Context, ids []JobID) ([]JobStatus, error)
	// Cancel asks for the jobs to end. Cancelling a job that has already
	// ended, or an unknown ID, is not an error, so Cancel can be repeated.
	Cancel(ctx context.Context, ids []JobID) error
}

// Shutdowner is implemented by providers that own goroutines, processes or
// connections. Shutdown cancels every job the provider started, waits for
// them and releases its resources; it is idempotent and returns ctx.Err()
// if ctx ends first.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Shutdown shuts p down if it is a [Shutdowner] and does nothing otherwise,
// so owners need not type-assert.
func Shutdown(ctx context.Context, p Provider) error {
	if s, ok := p.(Shutdowner); ok {
		if err := s.Shutdown(ctx); err != nil {
			return fmt.Errorf("shut down provider: %w", err)
		}
	}
	return nil
}

// JobID is the scheduler's identifier of a block: a Slurm or PBS job ID,
// a pod name, or a local provider's process handle. It is opaque.
type JobID string

// JobStatus is what a provider knows about one job.
type JobStatus struct {
	ID    JobID
	State JobState
	// Message is the scheduler's explanation, if any: the reason a job is
	// pending or held, or the tail of stderr of a failed job. It is meant
	// for people and logs.
	Message string
	// ExitCode is the exit status of a job that ended, when the scheduler
	// knows it; 128+N means killed by signal N. Zero otherwise.
	ExitCode int
}

// Defaults applied by [Job.WithDefaults].
const (
	DefaultJobNodes        = 1
	DefaultJobTasksPerNode = 1
	// DefaultJobNamePrefix is put before the block ID to name a job, so
	// that funcx jobs are recognisable in squeue/qstat/kubectl listings.
	DefaultJobNamePrefix = "funcx-"
)

// Job describes one block to start. It is a plain value: providers take
// what applies to them and ignore the rest (a local provider has no
// partition; a pod has no walltime).
type Job struct {
	// BlockID identifies the block inside the endpoint; managers report
	// it when they connect. Required; letters, digits, '.', '_' and '-'
	// only, because it names files and scheduler jobs.
	BlockID string
	// Name is the scheduler job name. Defaults to DefaultJobNamePrefix
	// followed by BlockID.
	Name string
	// Command is the shell command line that starts the manager(s),
	// already wrapped by a Launcher. It runs under bash. Required.
	Command string
	// WorkerInit is shell code run before Command in the same shell, such
	// as "module load python" or "conda activate env". Defaults to none.
	WorkerInit string
	// Env is added to the environment the command starts with. Names must
	// be shell identifiers. Defaults to none.
	Env map[string]string
	// Nodes is the number of nodes in the block. Defaults to 1.
	Nodes int
	// TasksPerNode is the number of managers per node the launcher
	// starts; schedulers use it for --ntasks-per-node and the like.
	// Defaults to 1.
	TasksPerNode int
	// CoresPerNode requests that many cores on each node. Defaults to 0:
	// the scheduler's default.
	CoresPerNode int
	// MemoryPerNode requests that many bytes of memory on each node.
	// Defaults to 0: the scheduler's default.
	MemoryPerNode int64
	// GPUsPerNode requests that many GPUs on each node. Defaults to 0.
	GPUsPerNode int
	// Walltime is the longest the block may run; past it the scheduler
	// ends the job and its state is JobTimeout. Defaults to 0: no limit
	// for providers that allow none, the scheduler's default otherwise.
	Walltime time.Duration
	// ScriptDir is the directory where submit scripts and the job's
	// stdout and stderr go. Providers create it. Defaults to a
	// provider-chosen directory.
	ScriptDir string
	// Partition is the Slurm partition. Defaults to the cluster's.
	Partition string
	// Account is the allocation the job is charged to. Defaults to the
	// user's default account.
	Account string
	// QOS is the Slurm quality of service. Defaults to the cluster's.
	QOS string
	// Queue is the PBS queue. Defaults to the server's default queue.
	Queue string
	// Constraint selects node features (Slurm --constraint). Defaults to
	// none.
	Constraint string
	// Exclusive asks for whole nodes, not shared with other jobs.
	// Defaults to false.
	Exclusive bool
	// SchedulerOptions are extra lines put verbatim into the submit
	// script's header (e.g. "#SBATCH --gres=gpu:1"). Defaults to none.
	SchedulerOptions string
	// Image is the container image the block runs in, for providers
	// whose blocks are containers (a Kubernetes pod): under hard routing
	// each image gets blocks of its own. Defaults to the provider's
	// configured image.
	Image string
	// Labels tag what the provider creates (pod labels, a job comment) so
	// that orphans of a crashed endpoint can be found. Defaults to none.
	Labels map[string]string
}

var (
	blockIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// WithDefaults returns a copy of j with unset fields defaulted. The maps
// are shared with j, not copied.
func (j Job) WithDefaults() Job {
	if j.Name == "" {
		j.Name = DefaultJobNamePrefix + j.BlockID
	}
	if j.Nodes == 0 {
		j.Nodes = DefaultJobNodes
	}
	if j.TasksPerNode == 0 {
		j.TasksPerNode = DefaultJobTasksPerNode
	}
	return j
}

// Validate reports what is wrong with j, naming the field. Providers call
// it in Submit, so that a bad job fails before anything reaches a
// scheduler.
func (j Job) Validate() error {
	var errs []error
	if !blockIDPattern.MatchString(j.BlockID) {
		errs = append(errs, fmt.Errorf("BlockID %q must be non-empty and use only letters, digits, '.', '_' and '-'", j.BlockID))
	}
	if j.Command == "" {
		errs = append(errs, errors.New("Command must not be empty"))
	}
	for name := range j.Env {
		if !envNamePattern.MatchString(name) {
			errs = append(errs, fmt.Errorf("Env name %q is not a shell identifier", name))
		}
	}
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"Nodes", int64(j.Nodes)},
		{"TasksPerNode", int64(j.TasksPerNode)},
		{"CoresPerNode", int64(j.CoresPerNode)},
		{"MemoryPerNode", j.MemoryPerNode},
		{"GPUsPerNode", int64(j.GPUsPerNode)},
		{"Walltime", int64(j.Walltime)},
	} {
		if f.value < 0 {
			errs = append(errs, fmt.Errorf("%s (%d) must not be negative", f.name, f.value))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid job: %w", err)
	}
	return nil
}

// Script is the body of the block's shell script: WorkerInit, then
// Command. Providers add their own header (scheduler directives) and
// environment.
func (j Job) Script() string {
	if j.WorkerInit == "" {
		return j.Command + "\n"
	}
	return j.WorkerInit + "\n" + j.Command + "\n"
}
