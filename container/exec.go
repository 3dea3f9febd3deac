package container

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
)

// execRuntime runs containers through a command-line runtime (Singularity
// or Apptainer, Shifter): one runtime process per worker container, whose
// life is the container's.
type execRuntime struct {
	name string // Singularity or Shifter
	cmd  string // resolved executable
	opts Options
}

// findCommand resolves the runtime's executable: opts.Command if set,
// else apptainer or singularity (Singularity) or shifter on PATH.
func findCommand(name, command string) (string, error) {
	candidates := []string{command}
	if command == "" {
		switch name {
		case Singularity:
			candidates = []string{"apptainer", "singularity"}
		case Shifter:
			candidates = []string{"shifter"}
		}
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

func newExec(name string, opts Options) (*execRuntime, error) {
	cmd, err := findCommand(name, opts.Command)
	if err != nil {
		return nil, err
	}
	return &execRuntime{name: name, cmd: cmd, opts: opts}, nil
}

func (r *execRuntime) Name() string { return r.name }

// Argv is the command line that starts spec's container.
func (r *execRuntime) Argv(spec Spec) []string {
	binds := append(append([]Bind(nil), r.opts.Binds...), spec.Binds...)
	if r.name == Shifter {
		return ShifterArgv(r.cmd, spec.Image, r.opts.RunOptions, binds, r.opts.GPUs, spec.Command)
	}
	return SingularityArgv(r.cmd, spec.Image, r.opts.RunOptions, binds, r.opts.GPUs, spec.Command)
}

// SingularityArgv is `CMD exec [RUN_OPTIONS] --bind B... [--nv] IMAGE
// COMMAND...`. The environment reaches the worker through the runtime
// process's own environment, which Singularity and Apptainer pass on.
func SingularityArgv(cmd, image string, runOptions []string, binds []Bind, gpus bool, command []string) []string {
	argv := []string{cmd, "exec"}
	argv = append(argv, runOptions...)
	for _, b := range binds {
		argv = append(argv, "--bind", b.String())
	}
	if gpus {
		argv = append(argv, "--nv")
	}
	argv = append(argv, image)
	return append(argv, command...)
}

// ShifterArgv is `CMD --image=IMAGE --volume=B... [--module=gpu]
// [RUN_OPTIONS] -- COMMAND...`. Shifter passes the environment on too.
func ShifterArgv(cmd, image string, runOptions []string, binds []Bind, gpus bool, command []string) []string {
	argv := []string{cmd, "--image=" + image}
	for _, b := range binds {
		argv = append(argv, "--volume="+b.String())
	}
	if gpus {
		argv = append(argv, "--module=gpu")
	}
	argv = append(argv, runOptions...)
	argv = append(argv, "--")
	return append(argv, command...)
}

func (r *execRuntime) Start(ctx context.Context, spec Spec) (Instance, error) {
	if spec.Image == "" || len(spec.Command) == 0 {
		return nil, fmt.Errorf("%s: start: spec needs an image and a command", r.name)
	}
	argv := r.Argv(spec)
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
	return &execInstance{cmd: cmd}, nil
}

type execInstance struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	done bool
}

func (i *execInstance) ID() string { return "pid " + strconv.Itoa(i.cmd.Process.Pid) }

func (i *execInstance) Wait() error {
	err := i.cmd.Wait()
	i.mu.Lock()
	i.done = true
	i.mu.Unlock()
	if err == nil {
		return nil
	}
	e := &ExitError{ID: i.ID(), Code: -1}
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

func (i *execInstance) Kill() error {
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
