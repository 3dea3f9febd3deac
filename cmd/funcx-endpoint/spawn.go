package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// daemonize starts this program again as the profile's daemon, in a
// session of its own, hands it the registration on its stdin and waits
// for its report on a pipe: up, or why not.
func (e *env) daemonize(p *profile.Profile, h handoff, startTimeout time.Duration) error {
	exe, err := e.sys.executable()
	if err != nil {
		return fmt.Errorf("start the daemon: find this program: %w", err)
	}
	home, err := e.home()
	if err != nil {
		return err
	}
	args := []string{"daemon", p.Name, "--start-timeout", startTimeout.String()}
	if e.cli.Debug {
		args = append([]string{"--debug"}, args...)
	}
	if e.cli.LogToConsole {
		args = append([]string{"--log-to-console"}, args...)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = daemonEnv(os.Environ(), home)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start the daemon: %w", err)
	}
	defer statusR.Close()
	cmd.ExtraFiles = []*os.File{statusW}
	in, err := cmd.StdinPipe()
	if err != nil {
		statusW.Close()
		return fmt.Errorf("start the daemon: %w", err)
	}
	if e.cli.LogToConsole {
		cmd.Stderr = e.sys.stderr
	} else {
		logf, err := os.OpenFile(p.Path(profile.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			statusW.Close()
			return fmt.Errorf("start the daemon: %w", err)
		}
		defer logf.Close()
		cmd.Stderr = logf
	}
	err = cmd.Start()
	statusW.Close() // the daemon has its copy; EOF once it exits
	if err != nil {
		return fmt.Errorf("start the daemon: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	err = json.NewEncoder(in).Encode(h)
	in.Close()
	if err != nil {
		return fmt.Errorf("start the daemon: hand over the registration: %w", err)
	}

	reports := make(chan daemonReport, 1)
	go func() {
		var r daemonReport
		line, err := bufio.NewReader(io.LimitReader(statusR, 1<<20)).ReadBytes('\n')
		if err != nil || json.Unmarshal(line, &r) != nil {
			r = daemonReport{Error: "the daemon exited without saying why"}
		}
		reports <- r
	}()
	var r daemonReport
	select {
	case r = <-reports:
	case <-e.ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		return fmt.Errorf("start interrupted: the daemon was stopped: %w", e.ctx.Err())
	}
	if !r.Ready {
		<-exited
		msg := r.Error
		if tail := logTail(p.Path(profile.LogFile), 5); r.Error == "the daemon exited without saying why" && tail != "" {
			msg += "; the end of " + p.Path(profile.LogFile) + ":\n" + tail
		}
		return errors.New(msg)
	}
	// Up: leave it running; it is reparented when this process exits.
	fmt.Fprintf(e.sys.stdout, "Endpoint %s is up (pid %d); it logs to %s.\nEndpoint ID: %s\n", p.Name, r.PID, p.Path(profile.LogFile), h.EndpointID)
	return nil
}

// daemonEnv is the daemon's environment: this one without the client
// secret (the daemon needs only the broker credentials handed over, and
// its tasks inherit its environment), with FUNCX_HOME fixed.
func daemonEnv(environ []string, home string) []string {
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
