// Package execrt runs worker containers through a command-line runtime
// (Singularity or Apptainer, Shifter): one runtime process per worker
// container, whose life is the container's. container/singularity and
// container/shifter supply the command line.
package execrt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/funcx-go/funcx/container"
)

// Argv builds the runtime's command line: cmd is the resolved executable,
// binds the options' and the spec's.
type Argv func(cmd string, opts container.Options, binds []container.Bind, spec container.Spec) []string

// Runtime is a command-line container runtime.
type Runtime struct {
	name       string   // container.Singularity or container.Shifter
	candidates []string // executables tried on PATH when opts.Command is empty
	opts       container.Options
	argv       Argv

	mu  sync.Mutex
	cmd string // resolved at the first Start: New does no I/O
}

var _ container.Runtime = (*Runtime)(nil)

// New returns a runtime called name that runs argv's command line with
// opts.Command, else the first of candidates found on PATH. It looks
// nothing up yet; Start does, and ValidateOptions checks ahead.
func New(name string, candidates []string, opts container.Options, argv Argv) *Runtime {
	return &Runtime{name: name, candidates: candidates, opts: opts, argv: argv}
}

// FindCommand resolves the runtime's executable: command if set, else
// the first of candidates on PATH.
func FindCommand(name string, candidates []string, command string) (string, error) {
	if command != "" {
		candidates = []string{command}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	if command != "" {
		return "", fmt.Errorf("%s runtime command %q not found", name, command)
	}
	return "", fmt.Errorf("%s not found on PATH: install it, or set container.runtime_command", joinOr(candidates))
}

func joinOr(s []string) string {
	if len(s) == 2 {
		return s[0] + " or " + s[1]
	}
	return s[0]
}

// Name implements container.Runtime.
func (r *Runtime) Name() string { return r.name }

// command resolves the executable once.
func (r *Runtime) command() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == "" {
		cmd, err := FindCommand(r.name, r.candidates, r.opts.Command)
		if err != nil {
			return "", err
		}
		r.cmd = cmd
	}
	return r.cmd, nil
}

// Start implements container.Runtime.
func (r *Runtime) Start(ctx context.Context, spec container.Spec) (container.Instance, error) {
	if spec.Image == "" || len(spec.Command) == 0 {
		return nil, fmt.Errorf("%s: start: spec needs an image and a command", r.name)
	}
	path, err := r.command()
	if err != nil {
		return nil, err
	}
	binds := append(append([]container.Bind(nil), r.opts.Binds...), spec.Binds...)
	argv := r.argv(path, r.opts, binds, spec)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	out := spec.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that Kill reaches the runtime's helpers
	// too; and it dies with the manager.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", r.name, argv[0], err)
	}
	return &instance{cmd: cmd}, nil
}

type instance struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	done bool
}

func (i *instance) ID() string { return "pid " + strconv.Itoa(i.cmd.Process.Pid) }

func (i *instance) Wait() error {
	err := i.cmd.Wait()
	i.mu.Lock()
	i.done = true
	i.mu.Unlock()
	if err == nil {
		return nil
	}
	e := &container.ExitError{ID: i.ID(), Code: -1}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		e.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal().String()
		}
	} else {
		e.Err = err
	}
	return e
}

func (i *instance) Kill() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.done {
		return nil
	}
	// The whole group: a runtime's starter and the worker under it.
	if err := syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill container %s: %w", i.ID(), err)
	}
	return nil
}

// Driver registers a command-line runtime with the container package.
type Driver struct {
	Name       string
	Candidates []string
	Argv       Argv
}

var _ container.Driver = Driver{}

// New implements container.Driver: it does no I/O.
func (d Driver) New(opts container.Options) (container.Runtime, error) {
	return New(d.Name, d.Candidates, opts, d.Argv), nil
}

// ValidateOptions implements container.Driver: the runtime's command
// exists.
func (d Driver) ValidateOptions(opts container.Options) error {
	_, err := FindCommand(d.Name, d.Candidates, opts.Command)
	return err
}
