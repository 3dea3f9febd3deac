package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/funcx-go/funcx/endpoint/profile"
)

// endpointProc is one endpoint run by `funcx-endpoint` in a FUNCX_HOME of
// its own, profile "default".
type endpointProc struct {
	name string // "A" or "B", for the table's notes
	bin  string
	home string
	env  []string
	id   string // the endpoint ID, once started
	// runIDs and daemonPIDs are those of every start: whatever any of
	// them left is an orphan.
	runIDs     []string
	daemonPIDs []int
}

// cli runs funcx-endpoint with args and returns what it printed.
func (e *endpointProc) cli(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("endpoint %s: funcx-endpoint %s: %w: %s", e.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (e *endpointProc) profile() *profile.Profile {
	p, _ := profile.New(e.home, profile.DefaultName) // a valid name
	return p
}

// configure creates the profile and appends extra to its config.toml
// (whose template has every table commented out).
func (e *endpointProc) configure(ctx context.Context, extra string) error {
	if _, err := e.cli(ctx, "configure"); err != nil {
		return err
	}
	f, err := os.OpenFile(e.profile().Path(profile.ConfigFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("\n" + extra)
	return errors.Join(err, f.Close())
}

var endpointIDRE = regexp.MustCompile(`Endpoint ID: ([0-9a-f-]{36})`)

// start runs `funcx-endpoint start` and records the daemon and its run.
// A daemon just killed may still hold its lock for a moment: start is
// retried while the profile shows it running.
func (e *endpointProc) start(ctx context.Context) error {
	var out string
	var err error
	for deadline := time.Now().Add(time.Minute); ; {
		out, err = e.cli(ctx, "start")
		if err == nil || !strings.Contains(out, "running") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	m := endpointIDRE.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("endpoint %s: start printed no endpoint ID: %q", e.name, out)
	}
	e.id = m[1]
	pid, err := e.daemonPID()
	if err != nil {
		return err
	}
	e.daemonPIDs = append(e.daemonPIDs, pid)
	// run.json is written as the engine is built; start has returned once
	// the endpoint is up, so it is there, but a slow disk is waited for.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, ok, err := e.profile().Run()
		if err == nil && ok && r.RunID != "" && r.PID == pid {
			e.runIDs = append(e.runIDs, r.RunID)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("endpoint %s: no run.json of daemon %d: %+v, %v", e.name, pid, r, err)
		}
	}
}

// runID is the current run's ID.
func (e *endpointProc) runID() string {
	if len(e.runIDs) == 0 {
		return ""
	}
	return e.runIDs[len(e.runIDs)-1]
}

// daemonPID reads daemon.pid.
func (e *endpointProc) daemonPID() (int, error) {
	b, err := os.ReadFile(e.profile().Path(profile.PIDFile))
	if err != nil {
		return 0, fmt.Errorf("endpoint %s: %w", e.name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("endpoint %s: daemon.pid holds %q", e.name, b)
	}
	return pid, nil
}

// stop runs `funcx-endpoint stop`.
func (e *endpointProc) stop(ctx context.Context) error {
	if !e.profile().Exists() {
		return nil
	}
	_, err := e.cli(ctx, "stop", "--timeout=2m")
	return err
}

// remove runs `funcx-endpoint delete`, which deregisters the endpoint
// (the service deletes its queues and broker user) and removes the
// profile. The log is copied to keep first, if set.
func (e *endpointProc) remove(ctx context.Context, keep string) error {
	p := e.profile()
	if !p.Exists() {
		return nil
	}
	if keep != "" {
		if b, err := os.ReadFile(p.Path(profile.LogFile)); err == nil {
			_ = os.WriteFile(keep, b, 0o600)
		}
	}
	_, err := e.cli(ctx, "delete", "--yes", "default")
	if err != nil {
		// The profile goes all the same; the orphan check reports what
		// the service could not delete.
		_, ferr := e.cli(ctx, "delete", "--yes", "--force", "default")
		return errors.Join(err, ferr)
	}
	return nil
}
