package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/funcx-go/funcx/endpoint/profile"
)

// maxHandoff bounds what a daemon reads from Spawn on its stdin.
const maxHandoff = 1 << 20

// ServeChild is Serve in a daemon that Spawn started: it reads the
// Handoff from stdin into cfg.Handoff, serves, and reports on StatusFD
// whether the endpoint came up (then calls cfg.Ready). cfg.Console gets
// the log only until then: from then on nobody reads the console, and
// this process's stderr (panics, the runtime's own messages) goes to
// endpoint.log.
func ServeChild(ctx context.Context, stdin io.Reader, cfg Config) error {
	return serveChild(ctx, stdin, os.NewFile(StatusFD, "status"), cfg, redirectStderr)
}

// serveChild is ServeChild reporting on status; afterReport(logPath) is
// called once the report is written.
func serveChild(ctx context.Context, stdin io.Reader, status io.WriteCloser, cfg Config, afterReport func(string)) error {
	if cfg.Profile == nil {
		return errors.New("daemon: Config.Profile is nil")
	}
	var console *switchWriter
	if cfg.Console != nil {
		console = newSwitchWriter(cfg.Console)
		cfg.Console = console
	}
	logPath, ready := cfg.Profile.Path(profile.LogFile), cfg.Ready
	cfg.Ready = once(func(err error) {
		if console != nil {
			console.on.Store(false)
		}
		tell(status, err)
		afterReport(logPath)
		if ready != nil {
			ready(err)
		}
	})
	if err := json.NewDecoder(io.LimitReader(stdin, maxHandoff)).Decode(&cfg.Handoff); err != nil {
		err = fmt.Errorf("daemon: read the registration from start: %w", err)
		cfg.Ready(err)
		return err
	}
	return Serve(ctx, cfg)
}

// tell writes the one report to Spawn and closes the pipe.
func tell(status io.WriteCloser, err error) {
	if status == nil {
		return
	}
	r := report{Ready: err == nil, PID: os.Getpid()}
	if err != nil {
		r.Error = err.Error()
	}
	_ = json.NewEncoder(status).Encode(r)
	_ = status.Close()
}

// redirectStderr points this process's stderr at the log file: nobody
// reads the console of a daemon that is up.
func redirectStderr(logPath string) {
	if f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
		_ = unix.Dup2(int(f.Fd()), 2)
		_ = f.Close()
	}
}
