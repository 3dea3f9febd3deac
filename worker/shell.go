package worker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"github.com/funcx-go/funcx"
)

// Exit codes of a shell result whose command did not run, following the
// shell's convention so that Argv and Script tasks agree.
const (
	// ExitNotFound is the ExitCode of a command that was not found.
	ExitNotFound = 127
	// ExitNotExecutable is the ExitCode of a command that exists but
	// cannot be executed (permission denied).
	ExitNotExecutable = 126
)

// runShell runs a shell function: Argv executed directly, or Script with
// /bin/sh -c, in its own process group so that a timeout or a stopping
// worker kills everything it started.
//
// A command that runs and exits non-zero is a successful task with that
// ExitCode. One that cannot start is a RemoteError with ExitCode
// ExitNotFound, ExitNotExecutable or -1 (other reasons). One killed at its
// timeout is a TaskTimeout with ExitCode -1. When the command exits, the
// rest of its process group (background children) is killed too: nothing
// a task started outlives it.
func (s *server) runShell(ctx context.Context, t *funcx.Task, res *funcx.Result) {
	s.narrowProcs() // a relay for the command: see procs.go
	f := &t.Function
	res.ExitCode = -1
	argv, err := shellArgv(f, t.Args)
	if err != nil {
		res.Error = funcx.Errorf(funcx.InvalidTask, "shell function: %v", err)
		return
	}
	env, err := commandEnv(f.Env)
	if err != nil {
		res.Error = funcx.Errorf(funcx.InvalidTask, "shell function: %v", err)
		return
	}
	if f.Dir != "" {
		if fi, err := os.Stat(f.Dir); err != nil || !fi.IsDir() {
			res.Error = funcx.Errorf(funcx.RemoteError, "shell function: working directory %q: %v", f.Dir, cmp.Or(err, errNotDir))
			return
		}
	}

	tctx, cancel := taskContext(ctx, f.Timeout)
	defer cancel()

	limit := cmp.Or(f.OutputLimit, funcx.DefaultOutputLimit)
	stdout, stderr, err := newCaptures(limit)
	if err != nil {
		res.Error = funcx.Errorf(funcx.InternalError, "shell function: create output pipes: %v", err)
		return
	}
	newCmd := func() (*exec.Cmd, bool) {
		cmd, cached := s.paths.command(argv[0], argv[1:])
		cmd.Dir = f.Dir
		cmd.Env = env
		if len(t.Stdin) > 0 {
			cmd.Stdin = bytes.NewReader(t.Stdin)
		}
		cmd.SysProcAttr = processGroupAttr()
		// Bounds the wait for the stdin copier if a grandchild holds stdin.
		cmd.WaitDelay = s.cfg.CancelGrace
		cmd.Stdout, cmd.Stderr = stdout.w, stderr.w
		return cmd, cached
	}
	cmd, cached := newCmd()
	err = cmd.Start()
	if err != nil && cached { // the remembered path went stale: search again
		s.paths.forget(argv[0])
		cmd, _ = newCmd()
		err = cmd.Start()
	}
	if err != nil {
		stdout.abandon()
		stderr.abandon()
		res.Error, res.ExitCode = startFailure(argv[0], err)
		return
	}
	s.paths.started(argv[0], cmd)
	stdout.start()
	stderr.start()
	// Cancellation without exec.CommandContext's watcher goroutine: the
	// kill runs only if tctx ends, which is rare.
	stopKill := context.AfterFunc(tctx, func() { _ = killGroup(cmd.Process.Pid) })
	waitErr := cmd.Wait()
	stopKill()
	_ = killGroup(cmd.Process.Pid) // background leftovers; usually none

	var outCut, errCut bool
	res.Stdout, outCut = stdout.finish(s.cfg.CancelGrace)
	res.Stderr, errCut = stderr.finish(s.cfg.CancelGrace)
	res.Truncated = outCut || errCut
	res.ExitCode = cmd.ProcessState.ExitCode()

	var exitErr *exec.ExitError
	switch {
	case timedOut(tctx):
		res.Error = funcx.Errorf(funcx.TaskTimeout, "shell command timed out after %s: its process group was killed", f.Timeout)
	case tctx.Err() != nil && !cmd.ProcessState.Exited():
		res.Error = interrupted(tctx, "shell command", 0)
	case waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay):
		res.Error = funcx.Errorf(funcx.RemoteError, "shell command: wait: %v", waitErr)
	}
}

var errNotDir = errors.New("not a directory")

func newCaptures(limit int) (stdout, stderr *capture, err error) {
	if stdout, err = newCapture(limit); err != nil {
		return nil, nil, err
	}
	if stderr, err = newCapture(limit); err != nil {
		stdout.abandon()
		return nil, nil, err
	}
	return stdout, stderr, nil
}

// shellArgv builds the command line with the task's arguments substituted.
func shellArgv(f *funcx.Function, rawArgs []byte) ([]string, error) {
	args, err := parseShellArgs(rawArgs)
	if err != nil {
		return nil, err
	}
	if len(f.Argv) == 0 {
		script, err := substitute(f.Script, args)
		if err != nil {
			return nil, fmt.Errorf("script: %w", err)
		}
		return []string{"/bin/sh", "-c", script}, nil
	}
	argv := make([]string, len(f.Argv))
	for i, a := range f.Argv {
		if argv[i], err = substitute(a, args); err != nil {
			return nil, fmt.Errorf("argv[%d]: %w", i, err)
		}
	}
	return argv, nil
}

// commandEnv is the worker's environment plus extra, or nil (inherit
// as is) when there is nothing extra. Later entries win in os/exec, so
// extra overrides the worker's own values.
func commandEnv(extra map[string]string) ([]string, error) {
	if len(extra) == 0 {
		return nil, nil
	}
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("environment variable name %q is invalid", k)
		}
		env = append(env, k+"="+extra[k])
	}
	return env, nil
}

// startFailure is the error and exit code of a command that did not start.
func startFailure(name string, err error) (*funcx.TaskError, int) {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return funcx.Errorf(funcx.RemoteError, "shell command %q not found: %v", name, err), ExitNotFound
	case errors.Is(err, fs.ErrPermission):
		return funcx.Errorf(funcx.RemoteError, "shell command %q is not executable: %v", name, err), ExitNotExecutable
	}
	return funcx.Errorf(funcx.RemoteError, "start shell command %q: %v", name, err), -1
}

// killGroup kills the process group led by pid. A group already gone is
// not an error.
func killGroup(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pid, err)
	}
	return nil
}
