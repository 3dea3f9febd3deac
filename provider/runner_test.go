package provider_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/local"
	"github.com/funcx-go/funcx/provider/providertest"
)

func TestExecRunner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("output and stdin", func(t *testing.T) {
		t.Parallel()
		res, err := provider.ExecRunner{}.Run(ctx, "/bin/sh", []string{"-c", "cat; echo to-err >&2"}, []byte("from-stdin"))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if string(res.Stdout) != "from-stdin" || string(res.Stderr) != "to-err\n" || res.ExitCode != 0 {
			t.Errorf("Run = %+v", res)
		}
	})

	t.Run("non-zero exit", func(t *testing.T) {
		t.Parallel()
		res, err := provider.ExecRunner{}.Run(ctx, "/bin/sh", []string{"-c", "echo 'sbatch: error: invalid partition' >&2; exit 3"}, nil)
		var cerr *provider.CommandError
		if !errors.As(err, &cerr) {
			t.Fatalf("Run error = %v, want a *CommandError", err)
		}
		if res.ExitCode != 3 || cerr.ExitCode != 3 {
			t.Errorf("exit codes %d, %d; want 3", res.ExitCode, cerr.ExitCode)
		}
		for _, want := range []string{"run /bin/sh -c", "exit status 3", "sbatch: error: invalid partition"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})

	t.Run("timeout kills the process group", func(t *testing.T) {
		t.Parallel()
		pidFile := filepath.Join(t.TempDir(), "pid")
		// Long enough for the shell to write its pid on a loaded machine.
		r := provider.ExecRunner{Timeout: 2 * time.Second}
		script := `echo $$ > "$0"; echo squeue-is-slow >&2; sleep 3600 & wait`
		res, err := r.Run(ctx, "/bin/sh", []string{"-c", script, pidFile}, nil)
		var cerr *provider.CommandError
		if !errors.As(err, &cerr) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run error = %v, want a timeout *CommandError", err)
		}
		for _, want := range []string{"timed out after 2s", "squeue-is-slow", "/bin/sh"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if res.ExitCode != -1 || cerr.Timeout != r.Timeout {
			t.Errorf("exit code %d, timeout %s", res.ExitCode, cerr.Timeout)
		}
		b, rerr := os.ReadFile(pidFile)
		pgid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if rerr != nil || perr != nil {
			t.Fatalf("read pid: %v %v", rerr, perr)
		}
		providertest.WaitFor(t, 10*time.Second, "the command's process group gone", func() bool { return !local.GroupAlive(pgid) })
	})

	t.Run("caller cancels", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := provider.ExecRunner{}.Run(cctx, "/bin/sleep", []string{"3600"}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
	})

	t.Run("command not found", func(t *testing.T) {
		t.Parallel()
		res, err := provider.ExecRunner{}.Run(ctx, "no-such-scheduler-command", nil, nil)
		if err == nil || !strings.Contains(err.Error(), "no-such-scheduler-command") || res.ExitCode != -1 {
			t.Errorf("Run = %+v, %v", res, err)
		}
	})

	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		res, err := provider.ExecRunner{Env: []string{"ONLY=this"}}.Run(ctx, "/bin/sh", []string{"-c", `echo "$ONLY"`}, nil)
		if err != nil || string(res.Stdout) != "this\n" {
			t.Errorf("Run = %q, %v", res.Stdout, err)
		}
	})
}
