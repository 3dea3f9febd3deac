package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Runner runs scheduler commands (sbatch, squeue, qsub …). Providers take
// one so that unit tests substitute a fake that answers like the
// scheduler would.
type Runner interface {
	// Run runs name with args, feeding it stdin, and returns what it
	// wrote and its exit status. A command that ran and exited non-zero
	// returns its RunResult together with a *CommandError.
	Run(ctx context.Context, name string, args []string, stdin []byte) (RunResult, error)
}

// RunResult is what a finished command produced.
type RunResult struct {
	Stdout, Stderr []byte
	// ExitCode is the command's exit status; -1 if it did not exit on
	// its own (killed, timed out, not started).
	ExitCode int
}

// CommandError reports a command that failed: it exited non-zero, timed
// out or could not be started. Its message names the command and carries
// its stderr, which is usually the scheduler's explanation.
type CommandError struct {
	Command  string // the command line, for messages
	ExitCode int    // -1 if the command did not exit on its own
	Stderr   string // trimmed
	// Err is the underlying cause: an *exec.ExitError, a start failure,
	// or context.DeadlineExceeded for a timeout.
	Err error
	// Timeout is the limit that was exceeded, if the command timed out.
	Timeout time.Duration
}

func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString("run ")
	b.WriteString(e.Command)
	switch {
	case e.Timeout > 0:
		fmt.Fprintf(&b, ": timed out after %s", e.Timeout)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, ": exit status %d", e.ExitCode)
	default:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// DefaultRunTimeout bounds one scheduler command. A busy slurmctld can
// take many seconds to answer; a minute without an answer means it is
// not going to.
const DefaultRunTimeout = time.Minute

// runWaitDelay is how long Run waits for output pipes after the command
// was killed, in case something it started still holds them open.
const runWaitDelay = 2 * time.Second

// ExecRunner runs commands with os/exec. The zero value is ready to use.
type ExecRunner struct {
	// Timeout bounds each command; the command's whole process group is
	// killed when it is exceeded. Defaults to DefaultRunTimeout.
	Timeout time.Duration
	// Env, if not nil, is the commands' environment. Defaults to the
	// environment of this process.
	Env []string
}

var _ Runner = ExecRunner{}

// Run runs the command and waits for it, at most Timeout or until ctx
// ends.
func (r ExecRunner) Run(ctx context.Context, name string, args []string, stdin []byte) (RunResult, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultRunTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errRunTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = r.Env
	if len(stdin) > 0 {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Own process group, killed whole: a scheduler command that is a
	// shell script (or a shim in tests) must not leave children behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = runWaitDelay

	err := cmd.Run()
	res := RunResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		return res, nil
	}
	cerr := &CommandError{
		Command:  commandLine(name, args),
		ExitCode: res.ExitCode,
		Stderr:   strings.TrimSpace(string(res.Stderr)),
		Err:      err,
	}
	if ctx.Err() != nil {
		cerr.ExitCode = -1
		cerr.Err = context.Cause(ctx)
		if errors.Is(cerr.Err, errRunTimeout) {
			cerr.Timeout = timeout
			cerr.Err = context.DeadlineExceeded
		}
	}
	return res, cerr
}

// errRunTimeout tells our own timeout apart from the caller's deadline.
var errRunTimeout = errors.New("command timed out")

// commandLine renders a command for messages, quoted as a shell would
// need it.
func commandLine(name string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	parts = append(parts, ShellQuote(name))
	for _, a := range args {
		parts = append(parts, ShellQuote(a))
	}
	return strings.Join(parts, " ")
}
