package pbs

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultQsub  = "qsub"
	DefaultQstat = "qstat"
	DefaultQdel  = "qdel"
	// DefaultShell runs the job script on the first node of the job.
	DefaultShell = "/bin/bash"
)

// Config configures a PBS Provider. The zero value runs qsub, qstat and
// qdel from $PATH.
type Config struct {
	// Runner runs qsub, qstat and qdel. Defaults to a
	// provider.ExecRunner with CommandTimeout.
	Runner provider.Runner
	// CommandTimeout bounds each command of the default Runner; ignored
	// when Runner is set. Defaults to provider.DefaultRunTimeout.
	CommandTimeout time.Duration
	// Qsub is the submit command, by name (looked up in $PATH) or path,
	// for sites with wrappers. Defaults to DefaultQsub.
	Qsub string
	// Qstat is the status command. Defaults to DefaultQstat.
	Qstat string
	// Qdel is the delete command. Defaults to DefaultQdel.
	Qdel string
	// Shell is the interpreter on the script's #! line. The launchers'
	// snippets need bash. Defaults to DefaultShell.
	Shell string
	// Logger receives submissions and cancellations. Defaults to nil:
	// quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with unset fields defaulted.
func (c Config) WithDefaults() Config {
	c.CommandTimeout = cmp.Or(c.CommandTimeout, provider.DefaultRunTimeout)
	if c.Runner == nil {
		c.Runner = provider.ExecRunner{Timeout: c.CommandTimeout}
	}
	c.Qsub = cmp.Or(c.Qsub, DefaultQsub)
	c.Qstat = cmp.Or(c.Qstat, DefaultQstat)
	c.Qdel = cmp.Or(c.Qdel, DefaultQdel)
	c.Shell = cmp.Or(c.Shell, DefaultShell)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if c.CommandTimeout < 0 {
		return fmt.Errorf("invalid PBS provider config: CommandTimeout (%s) must not be negative", c.CommandTimeout)
	}
	return nil
}
