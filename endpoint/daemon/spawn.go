package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// SpawnConfig is the daemon Spawn starts.
type SpawnConfig struct {
	// Profile is the endpoint's profile: the daemon's FUNCX_HOME is its
	// home, and its endpoint.log gets the daemon's stderr. Required.
	Profile *profile.Profile
	// Handoff is the registration the daemon serves. Required.
	Handoff Handoff
	// Path is the program to run, which calls ServeChild when run with
	// Args. Required.
	Path string
	// Args are the program's arguments. Defaults to none.
	Args []string
	// Env is the daemon's environment, without the client credentials
	// (the daemon needs only the broker's, in the Handoff, and its tasks
	// inherit its environment) and with FUNCX_HOME set to the profile's
	// home. Defaults to this process's environment.
	Env []string
	// Console, if set, gets the daemon's stderr (its log, with
	// Config.Console) until it is up. Defaults to endpoint.log.
	Console io.Writer
}

// errSilent is the report of a daemon that exited without one.
const errSilent = "the daemon exited without saying why"

// Spawn starts the daemon in a session of its own, in /, hands it the
// registration on its stdin and waits for its report: it returns the
// daemon's pid once it is up, or why it is not. A daemon that is up is
// left running; a goroutine reaps it when it exits. If ctx ends first,
// the daemon is stopped.
func Spawn(ctx context.Context, cfg SpawnConfig) (int, error) {
	if cfg.Profile == nil || cfg.Path == "" {
		return 0, errors.New("daemon: SpawnConfig.Profile and SpawnConfig.Path are required")
	}
	c, err := start(cfg)
	if err != nil {
		return 0, fmt.Errorf("start the daemon: %w", err)
	}
	defer c.status.Close()
	err = json.NewEncoder(c.stdin).Encode(cfg.Handoff)
	c.stdin.Close()
	if err != nil {
		return 0, fmt.Errorf("start the daemon: hand over the registration: %w", err)
	}
	return c.await(ctx, cfg.Profile.Path(profile.LogFile))
}

// spawned is a started daemon.
type spawned struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	status *os.File
	exited chan struct{}
}

// start starts the daemon's process.
func start(cfg SpawnConfig) (*spawned, error) {
	home, err := filepath.Abs(cfg.Profile.Home)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = childEnv(cfg.Env, home)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Stderr = cfg.Console; cfg.Console == nil {
		logf, err := os.OpenFile(cfg.Profile.Path(profile.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		defer logf.Close() // the daemon has its copy
		cmd.Stderr = logf
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusW.Close() // the daemon has its copy; EOF once it exits
	cmd.ExtraFiles = []*os.File{statusW}
	c := &spawned{cmd: cmd, status: statusR, exited: make(chan struct{})}
	if c.stdin, err = cmd.StdinPipe(); err == nil {
		err = cmd.Start()
	}
	if err != nil {
		statusR.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return c, nil
}

// await waits for the daemon's report.
func (c *spawned) await(ctx context.Context, logPath string) (int, error) {
	reports := make(chan report, 1)
	go func() {
		var r report
		line, err := bufio.NewReader(io.LimitReader(c.status, maxHandoff)).ReadBytes('\n')
		if err != nil || json.Unmarshal(line, &r) != nil {
			r = report{Error: errSilent}
		}
		reports <- r
	}()
	var r report
	select {
	case r = <-reports:
	case <-ctx.Done():
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		<-c.exited
		return 0, fmt.Errorf("start interrupted: the daemon was stopped: %w", ctx.Err())
	}
	if !r.Ready {
		<-c.exited
		msg := r.Error
		if tail := logTail(logPath, 5); r.Error == errSilent && tail != "" {
			msg += "; the end of " + logPath + ":\n" + tail
		}
		return 0, errors.New(msg)
	}
	return r.PID, nil
}

// childEnv is environ (nil: this process's) without the client
// credentials and with FUNCX_HOME set to home.
func childEnv(environ []string, home string) []string {
	if environ == nil {
		environ = os.Environ()
	}
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case client.EnvClientSecret, client.EnvClientID, client.EnvHome:
			continue
		}
		out = append(out, kv)
	}
	return append(out, client.EnvHome+"="+home)
}

// logTail returns the last n lines of a file.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
