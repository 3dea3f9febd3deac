package main

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/procfs"
)

type stopCmd struct {
	Name    string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Timeout time.Duration `default:"2m" help:"How long the daemon gets to finish tasks in flight and cancel its blocks before it is killed (and cleaned up after) (default: ${default})."`
}

func (c *stopCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	if !p.Exists() {
		return fmt.Errorf("no endpoint %s: %s does not exist", p.Name, p.Path(profile.ConfigFile))
	}
	unlock, err := p.LockCommand()
	if err != nil {
		return err
	}
	defer unlock()
	return e.stop(p, c.Timeout)
}

// stop stops a running endpoint and waits until its daemon is gone; one
// stop is enough. A daemon that outlives timeout is killed and cleaned up
// after. A Disconnected endpoint is cleaned up; a stopped one needs
// nothing.
func (e *env) stop(p *profile.Profile, timeout time.Duration) error {
	if !p.Exists() {
		return fmt.Errorf("no endpoint %s: %s does not exist", p.Name, p.Path(profile.ConfigFile))
	}
	st, err := p.Status()
	if err != nil {
		return err
	}
	switch st.State {
	case profile.Initialized, profile.Stopped:
		fmt.Fprintf(e.sys.stdout, "Endpoint %s is not running.\n", p.Name)
		return nil
	case profile.Disconnected:
		return e.cleanup(p, e.configForCleanup(p))
	}
	fmt.Fprintf(e.sys.stderr, "Stopping endpoint %s (pid %d): tasks in flight may finish, then its blocks are cancelled...\n", p.Name, st.PID)
	if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop endpoint %s: signal pid %d: %w", p.Name, st.PID, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err = p.Status()
		if err != nil {
			return err
		}
		if st.State != profile.Running {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(e.sys.stderr, "Endpoint %s did not stop within %s: killing pid %d and cleaning up.\n", p.Name, timeout, st.PID)
			_ = syscall.Kill(st.PID, syscall.SIGKILL)
			timeout, deadline = time.Minute, time.Now().Add(time.Minute)
			continue
		}
		select {
		case <-e.ctx.Done():
			return fmt.Errorf("stop endpoint %s: still stopping in the background: %w", p.Name, e.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// The lock is released as the daemon exits; wait for the exit itself.
	waitGone(st.PID, 10*time.Second)
	if st.State == profile.Disconnected {
		if err := e.cleanup(p, e.configForCleanup(p)); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.sys.stdout, "Endpoint %s stopped.\n", p.Name)
	return nil
}

// configForCleanup is the profile's configuration for cancelling leftover
// blocks; a broken config.toml still lets local processes be cleaned up.
func (e *env) configForCleanup(p *profile.Profile) endpoint.Config {
	f, err := p.Load()
	if err != nil {
		fmt.Fprintf(e.sys.stderr, "funcx-endpoint: %v\n", err)
	}
	return f.Config
}

// waitGone waits until pid has exited (or is a zombie), at most timeout.
func waitGone(pid int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if st, ok := procfs.ReadStat(pid); !ok || !st.Live() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
