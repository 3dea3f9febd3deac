package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/cli"
	"github.com/funcx-go/funcx/service/api"
)

// Exit statuses of `funcx run` besides the command's own.
const (
	// exitTaskFailed: the task failed (its error kind is printed), or the
	// command did not exit normally.
	exitTaskFailed = 125
)

type runCmd struct {
	Endpoint string            `required:"" short:"e" placeholder:"ID" help:"Endpoint to run on."`
	Timeout  time.Duration     `help:"Kill the command after this long on the endpoint; 0 means no limit."`
	Wait     time.Duration     `help:"Stop waiting for the result after this long (the task keeps running); 0 waits until it ends."`
	Stdin    bool              `help:"Send this command's standard input to the remote command."`
	Image    string            `placeholder:"IMAGE" help:"Container image to run in."`
	Python   string            `placeholder:"FILE.py:FUNC" help:"Run the Python function FUNC of FILE.py instead of a command; the arguments after -- are its positional arguments."`
	Kwarg    map[string]string `placeholder:"NAME=VALUE" help:"A keyword argument of the --python function; repeatable."`
	Argv     []string          `arg:"" optional:"" passthrough:"" name:"command" help:"Command and arguments, after --; with --python, the function's arguments."`
}

// Help is shown by `funcx run --help` below the summary.
func (runCmd) Help() string {
	return `Registers the command as a shell function, runs it once on the endpoint and
waits. Its stdout and stderr are written to this command's, and the exit
status is the command's own; 125 if the task failed (the error kind, such as
WorkerLost, TaskTimeout or EndpointDeleted, is printed) or the command did
not exit normally;
1 for any other error.

With --python FILE.py:FUNC it registers FILE.py as a Python function
instead (the whole file is its source: its imports and helpers come along)
and calls FUNC once with the arguments after --. Each argument, and each
--kwarg value, is parsed as JSON (3, 2.5, true, null, "text", [1,2],
{"a":1}), falling back to the plain string when it is not JSON (sin stays
"sin"). The JSON of the return value is printed on stdout; what the
function printed goes to stderr. A raised exception exits 125 with the
remote traceback.

    funcx run -e $ENDPOINT -- hostname
    funcx run -e $ENDPOINT --timeout 10m --stdin -- sort -u < names.txt
    funcx run -e $ENDPOINT --python integrate.py:integrate -- sin 1000`
}

func (r *runCmd) Run(e *env) error {
	r.Argv = commandArgs(r.Argv)
	if r.Python != "" {
		return r.runPython(e)
	}
	if len(r.Kwarg) > 0 {
		return errors.New("--kwarg is for --python functions")
	}
	if len(r.Argv) == 0 {
		return errors.New("no command: give it after --, as in `funcx run -e ID -- hostname`")
	}
	var stdin []byte
	if r.Stdin {
		var err error
		if stdin, err = io.ReadAll(e.Sys.Stdin); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	return e.withClient(func(c *client.Client) error { return r.run(e, c, stdin) })
}

func (r *runCmd) run(e *env, c *client.Client, stdin []byte) error {
	// A shell function per run: one small request, and no cache of
	// function IDs to go stale. The command is literal, so its braces are
	// escaped from argument substitution.
	fid, err := c.RegisterFunction(e.Ctx, api.RegisterFunctionRequest{
		Name: "run: " + strings.Join(r.Argv, " "), Kind: "shell", Argv: escapeBraces(r.Argv),
		Timeout: durationText(r.Timeout), ContainerImage: r.Image,
	})
	if err != nil {
		return err
	}
	ex := c.Executor(r.Endpoint)
	defer ex.Close()
	f := ex.SubmitRaw(fid, nil, stdin)
	res, err := r.await(e, f, e.Sys.Stdout)
	var te *funcx.TaskError
	switch {
	case errors.As(err, &te):
		return taskFailed("task %s failed: %v", f.TaskID(), te)
	case err != nil:
		return err
	case res.ExitCode() < 0 || res.ExitCode() > 255:
		return taskFailed("the command did not exit normally (exit code %d)", res.ExitCode())
	case res.ExitCode() != 0:
		return &cli.ExitStatus{Code: res.ExitCode()}
	}
	return nil
}

// await waits for the task's result (at most --wait) and writes what it
// printed: its stdout to stdout (the command's own stdout, or stderr for a
// Python function, whose result goes to stdout), its stderr to stderr.
func (r *runCmd) await(e *env, f *client.Future, stdout io.Writer) (*client.Result, error) {
	ctx := e.Ctx
	if r.Wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Wait)
		defer cancel()
	}
	res, err := f.Result(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("gave up waiting for task %s after %s: it keeps running; see `funcx result --wait 1m %s`", f.TaskID(), r.Wait, f.TaskID())
	}
	if res != nil {
		_, _ = stdout.Write(res.Stdout())
		_, _ = e.Sys.Stderr.Write(res.Stderr())
		if res.Truncated() {
			fmt.Fprintln(e.Sys.Stderr, "funcx: the output was cut at the function's output limit")
		}
	}
	return res, err
}

// taskFailed is the exit status of a failed task, with a message.
func taskFailed(format string, args ...any) error {
	return &cli.ExitStatus{Code: exitTaskFailed, Err: fmt.Errorf(format, args...)}
}

// commandArgs drops the "--" that kong passes through in front of a
// command.
func commandArgs(argv []string) []string {
	if len(argv) > 0 && argv[0] == "--" {
		return argv[1:]
	}
	return argv
}

// escapeBraces doubles every brace, so that the worker's {key}
// substitution leaves the command as typed.
func escapeBraces(argv []string) []string {
	r := strings.NewReplacer("{", "{{", "}", "}}")
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}
