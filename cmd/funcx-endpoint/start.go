package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/version"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/service/api"
)

// cleanupTimeout bounds the clean-up after an unclean stop.
const cleanupTimeout = 2 * time.Minute

type startCmd struct {
	Name         string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Foreground   bool          `help:"Run in the foreground instead of as a daemon, logging to the console too, until Ctrl-C or SIGTERM."`
	StartTimeout time.Duration `name:"start-timeout" default:"60s" help:"Fail if the endpoint is not up within this (default: ${default})."`
}

func (c *startCmd) Run(e *env) error {
	p, err := e.profile(c.Name)
	if err != nil {
		return err
	}
	if !p.Exists() {
		return fmt.Errorf("no endpoint %s: run `funcx-endpoint configure %s` first", p.Name, p.Name)
	}
	unlock, err := p.LockCommand()
	if err != nil {
		return err
	}
	defer unlock()
	h, err := e.prepareStart(p)
	if err != nil {
		return err
	}
	if c.Foreground {
		return e.runForeground(p, h, c.StartTimeout)
	}
	return e.daemonize(p, h, c.StartTimeout)
}

// prepareStart does everything before the endpoint runs: it loads and
// checks config.toml, cleans up after an unclean stop, authenticates and
// registers (reusing the ID in endpoint.json). Every failure is returned
// to the user before anything starts.
func (e *env) prepareStart(p *profile.Profile) (handoff, error) {
	var h handoff
	file, err := p.Load()
	if err != nil {
		return h, err
	}
	st, err := p.Status()
	if err != nil {
		return h, err
	}
	switch st.State {
	case profile.Running:
		return h, &profile.RunningError{Name: p.Name, PID: st.PID}
	case profile.Disconnected:
		if err := e.cleanup(p, file.Config); err != nil {
			return h, err
		}
	}
	creds, err := e.credentials(file.ServiceURL)
	if err != nil {
		return h, err
	}
	reg, registered, err := p.Registration()
	if err != nil {
		return h, err
	}
	ctx, cancel := context.WithTimeout(e.ctx, verifyTimeout)
	defer cancel()
	err = e.withClient(creds, func(c *client.Client) error {
		who, err := c.Whoami(ctx)
		if err != nil {
			return err
		}
		if registered && reg.OwnerID != "" && reg.OwnerID != who.ID {
			return notOwner(p, reg, who)
		}
		req := api.RegisterEndpointRequest{EndpointID: reg.EndpointID, Name: p.Name,
			DisplayName: cmpOr(file.DisplayName, p.Name), Version: version.String("funcx-endpoint")}
		resp, err := c.RegisterEndpoint(ctx, req)
		if errors.Is(err, client.ErrForbidden) {
			return notOwner(p, reg, who)
		}
		if err != nil {
			return err
		}
		if !registered {
			reg = profile.Registration{EndpointID: resp.EndpointID, ServiceURL: creds.ServiceURL,
				OwnerID: who.ID, OwnerName: who.Name, RegisteredAt: time.Now().UTC()}
			if err := p.SaveRegistration(reg); err != nil {
				return err
			}
		}
		h = handoff{EndpointID: resp.EndpointID, Broker: resp.Broker}
		return nil
	})
	return h, err
}

// notOwner is the refusal of an endpoint registered by another identity.
func notOwner(p *profile.Profile, reg profile.Registration, who *api.Identity) error {
	owner := "another identity"
	if reg.OwnerName != "" {
		owner = fmt.Sprintf("%s (%s)", reg.OwnerName, reg.OwnerID)
	}
	return fmt.Errorf("endpoint %s (%s) belongs to %s, and you are %s (%s): only its owner may start it. "+
		"Log in as the owner (`funcx-endpoint login`, or %s and %s), or configure a new profile to register an endpoint of your own",
		p.Name, reg.EndpointID, owner, who.Name, who.ID, client.EnvClientID, client.EnvClientSecret)
}

// cleanup cleans up after an unclean stop and says what it did.
func (e *env) cleanup(p *profile.Profile, cfg endpoint.Config) error {
	ctx, cancel := context.WithTimeout(e.ctx, cleanupTimeout)
	defer cancel()
	rep, err := p.Cleanup(ctx, func(ctx context.Context, _ string, ids []string) error {
		jobs := make([]provider.JobID, len(ids))
		for i, id := range ids {
			jobs[i] = provider.JobID(id)
		}
		return endpoint.CancelLeftoverBlocks(ctx, cfg, jobs)
	})
	if err != nil {
		return err
	}
	if rep.Stale {
		msg := fmt.Sprintf("Endpoint %s was not stopped cleanly: cleaned up", p.Name)
		if len(rep.Killed) > 0 {
			noun := "processes"
			if len(rep.Killed) == 1 {
				noun = "process"
			}
			msg += fmt.Sprintf(", stopped %d leftover %s of run %s", len(rep.Killed), noun, rep.RunID)
		}
		if len(rep.Cancelled) > 0 {
			msg += fmt.Sprintf(", cancelled blocks %s", strings.Join(rep.Cancelled, ", "))
		}
		fmt.Fprintln(e.sys.stderr, msg+".")
	}
	return nil
}

// runForeground serves in this process until a signal.
func (e *env) runForeground(p *profile.Profile, h handoff, startTimeout time.Duration) error {
	var once sync.Once
	report := func(err error) {
		if err == nil {
			once.Do(func() {
				fmt.Fprintf(e.sys.stdout, "Endpoint %s is up (pid %d, in the foreground; Ctrl-C stops it).\nEndpoint ID: %s\n", p.Name, os.Getpid(), h.EndpointID)
			})
		}
	}
	return e.serve(e.ctx, p, h, e.sys.stderr, startTimeout, report)
}

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
