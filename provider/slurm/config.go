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
	// DefaultStatusCommand tries sacct and falls back to squeue.
	DefaultStatusCommand = StatusAuto
)

// Status commands (Config.StatusCommand).
const (
	// StatusAuto asks sacct, then squeue for what sacct does not know;
	// once sacct says accounting is disabled, only squeue.
	StatusAuto = "auto"
	// StatusSacct asks sacct, then squeue for what sacct does not know
	// yet; an accounting error is an error.
	StatusSacct = "sacct"
	// StatusSqueue asks only squeue --states=all.
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
	// StatusCommand is how job states are read: auto, sacct or squeue.
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
	case StatusAuto, StatusSacct, StatusSqueue:
	default:
		errs = append(errs, fmt.Errorf("StatusCommand %q is unknown: use %s, %s or %s", c.StatusCommand, StatusAuto, StatusSacct, StatusSqueue))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid slurm provider config: %w", err)
	}
	return nil
}
