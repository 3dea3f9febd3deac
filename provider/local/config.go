package local

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by Config.WithDefaults.
const (
	// DefaultCancelGrace is how long a cancelled block has between
	// SIGTERM and SIGKILL: time for managers to stop their workers and
	// report the tasks they hold.
	DefaultCancelGrace = 10 * time.Second
	// DefaultShell runs the job's script.
	DefaultShell = "/bin/bash"
)

// Config configures a local Provider. The zero value is ready to use.
type Config struct {
	// CancelGrace is the time between SIGTERM and SIGKILL when a block is
	// cancelled or exceeds its walltime. Defaults to DefaultCancelGrace.
	CancelGrace time.Duration
	// Shell is the shell that runs the job's script with -c. Defaults to
	// DefaultShell.
	Shell string
	// Logger receives process lifecycle events. Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with unset fields defaulted.
func (c Config) WithDefaults() Config {
	c.CancelGrace = cmp.Or(c.CancelGrace, DefaultCancelGrace)
	c.Shell = cmp.Or(c.Shell, DefaultShell)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if c.CancelGrace < 0 {
		return fmt.Errorf("invalid local provider config: CancelGrace (%s) must not be negative", c.CancelGrace)
	}
	return nil
}
