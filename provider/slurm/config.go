package slurm

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// Defaults applied by Config.WithDefaults.
const (
	// DefaultCommandTimeout bounds each sbatch, squeue, sacct and scancel.
	DefaultCommandTimeout = 30 * time.Second
	// DefaultStatusCommand asks squeue, and sacct for what squeue forgot.
	DefaultStatusCommand = StatusAuto
)

// Status commands (Config.StatusCommand).
const (
	// StatusAuto asks squeue, then sacct for the jobs squeue no longer
	// knows; once sacct says accounting is disabled, squeue alone.
	StatusAuto = "auto"
	// StatusSqueue asks squeue alone, for clusters where sacct is slow
	// or broken.
	StatusSqueue = "squeue"
)

// Config configures a Provider. The zero value is ready to use.
type Config struct {
	// Runner runs the Slurm commands. Defaults to a provider.ExecRunner
	// with CommandTimeout.
	Runner provider.Runner
	// CommandTimeout bounds each Slurm command when Runner is defaulted.
	// Defaults to DefaultCommandTimeout.
	CommandTimeout time.Duration
	// StatusCommand is how job states are read: auto or squeue.
	// Defaults to DefaultStatusCommand (auto).
	StatusCommand string
	// Sbatch, Squeue, Sacct and Scancel are the commands' names or paths.
	// Default to "sbatch", "squeue", "sacct" and "scancel", found on PATH.
	Sbatch, Squeue, Sacct, Scancel string
	// Logger receives job lifecycle events. Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with unset fields defaulted.
func (c Config) WithDefaults() Config {
	c.CommandTimeout = cmp.Or(c.CommandTimeout, DefaultCommandTimeout)
	if c.Runner == nil {
		c.Runner = provider.ExecRunner{Timeout: c.CommandTimeout}
	}
	c.StatusCommand = cmp.Or(c.StatusCommand, DefaultStatusCommand)
	c.Sbatch = cmp.Or(c.Sbatch, "sbatch")
	c.Squeue = cmp.Or(c.Squeue, "squeue")
	c.Sacct = cmp.Or(c.Sacct, "sacct")
	c.Scancel = cmp.Or(c.Scancel, "scancel")
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.CommandTimeout < 0 {
		errs = append(errs, fmt.Errorf("CommandTimeout (%s) must not be negative", c.CommandTimeout))
	}
	switch c.StatusCommand {
	case StatusAuto, StatusSqueue:
	default:
		errs = append(errs, fmt.Errorf("StatusCommand %q is unknown: use %s or %s", c.StatusCommand, StatusAuto, StatusSqueue))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid slurm provider config: %w", err)
	}
	return nil
}
