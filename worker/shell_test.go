package worker_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
)

func TestShell(t *testing.T) {
	t.Parallel()

	t.Run("argv with substitution", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Command("printf", "%s|%s|%s", "{word}", "{n}", "{list}"),
			`{"word": "two words", "n": 7, "list": [1, 2]}`))
		wantSuccess(t, r)
		if got := string(r.Stdout); got != "two words|7|[1,2]" {
			t.Errorf("stdout %q", got)
		}
		if r.ExitCode != 0 || r.Truncated {
			t.Errorf("exit %d truncated %v", r.ExitCode, r.Truncated)
		}
	})

	t.Run("script with substitution and escaped braces", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Shell(`x={n}; echo "${{x}} {who}"; echo oops >&2`), `{"n": 5, "who": "me"}`))
		wantSuccess(t, r)
		if got := string(r.Stdout); got != "5 me\n" {
			t.Errorf("stdout %q", got)
		}
		if got := string(r.Stderr); got != "oops\n" {
			t.Errorf("stderr %q", got)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		task := newTask(funcx.Command("tr", "a-z", "A-Z"), "")
		task.Stdin = bytes.Repeat([]byte("abc"), 100_000) // larger than a pipe's buffer
		r := runOne(t, task)
		wantSuccess(t, r)
		if want := bytes.Repeat([]byte("ABC"), 100_000); !bytes.Equal(r.Stdout, want) {
			t.Errorf("stdout: %d bytes, want %d", len(r.Stdout), len(want))
		}
	})

	t.Run("no stdin reads empty", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Command("wc", "-c"), ""))
		wantSuccess(t, r)
		if got := strings.TrimSpace(string(r.Stdout)); got != "0" {
			t.Errorf("stdout %q", got)
		}
	})

	t.Run("env added and overriding", func(t *testing.T) {
		t.Parallel()
		fn := funcx.Shell(`echo "$FUNCX_TEST_A $HOME"; test -n "$PATH"`)
		fn.Env = map[string]string{"FUNCX_TEST_A": "a b", "HOME": "/elsewhere"}
		r := runOne(t, newTask(fn, ""))
		wantSuccess(t, r)
		if got := string(r.Stdout); got != "a b /elsewhere\n" || r.ExitCode != 0 {
			t.Errorf("stdout %q exit %d (the worker's PATH must be kept)", got, r.ExitCode)
		}
	})

	t.Run("bad env name", func(t *testing.T) {
		t.Parallel()
		fn := funcx.Command("true")
		fn.Env = map[string]string{"A=B": "x"}
		r := runOne(t, newTask(fn, ""))
		wantError(t, r, funcx.InvalidTask, `environment variable name "A=B"`)
	})

	t.Run("dir", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		fn := funcx.Command("pwd", "-P")
		fn.Dir = dir
		r := runOne(t, newTask(fn, ""))
		wantSuccess(t, r)
		want, _ := filepath.EvalSymlinks(dir)
		if got := strings.TrimSpace(string(r.Stdout)); got != want {
			t.Errorf("pwd %q, want %q", got, want)
		}
	})

	t.Run("missing dir", func(t *testing.T) {
		t.Parallel()
		fn := funcx.Command("true")
		fn.Dir = filepath.Join(t.TempDir(), "nope")
		r := runOne(t, newTask(fn, ""))
		wantError(t, r, funcx.RemoteError, "working directory", "nope")
		if r.ExitCode != -1 {
			t.Errorf("exit code %d, want -1", r.ExitCode)
		}
	})

	t.Run("non-zero exit is a result", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Shell("echo partial; exit 3"), ""))
		wantSuccess(t, r)
		if r.ExitCode != 3 || string(r.Stdout) != "partial\n" {
			t.Errorf("exit %d stdout %q", r.ExitCode, r.Stdout)
		}
	})

	t.Run("command not found", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Command("funcx-no-such-command"), ""))
		wantError(t, r, funcx.RemoteError, `"funcx-no-such-command" not found`)
		if r.ExitCode != worker.ExitNotFound {
			t.Errorf("exit code %d, want %d", r.ExitCode, worker.ExitNotFound)
		}
	})

	t.Run("absolute path not found", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Command("/nonexistent/funcx-cmd"), ""))
		wantError(t, r, funcx.RemoteError, "not found")
		if r.ExitCode != worker.ExitNotFound {
			t.Errorf("exit code %d, want %d", r.ExitCode, worker.ExitNotFound)
		}
	})

	t.Run("not executable", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "script")
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runOne(t, newTask(funcx.Command(path), ""))
		wantError(t, r, funcx.RemoteError, "not executable")
		if r.ExitCode != worker.ExitNotExecutable {
			t.Errorf("exit code %d, want %d", r.ExitCode, worker.ExitNotExecutable)
		}
	})

	t.Run("missing argument", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Command("echo", "{a}", "{b}"), `{"a": 1}`))
		wantError(t, r, funcx.InvalidTask, `argv[2]`, `no argument named "b"`)
	})

	t.Run("arguments not an object", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Shell("echo {0}"), `["x"]`))
		wantError(t, r, funcx.InvalidTask, "JSON object")
	})

	t.Run("invalid function", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.Function{Kind: funcx.KindShell}, ""))
		wantError(t, r, funcx.InvalidTask, "set Argv or Script")
	})

	t.Run("output cap and truncated", func(t *testing.T) {
		t.Parallel()
		// 1 MiB on each stream against a 1000-byte cap: the command must
		// still finish (the pipes keep draining) and be cut exactly.
		fn := funcx.Shell(`head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; echo done >&2`)
		fn.OutputLimit = 1000
		r := runOne(t, newTask(fn, ""))
		wantSuccess(t, r)
		if len(r.Stdout) != 1000 || len(r.Stderr) != 1000 || !r.Truncated {
			t.Errorf("stdout %d stderr %d bytes, truncated %v", len(r.Stdout), len(r.Stderr), r.Truncated)
		}
	})

	t.Run("output at the cap is not truncated", func(t *testing.T) {
		t.Parallel()
		fn := funcx.Command("printf", "12345")
		fn.OutputLimit = 5
		r := runOne(t, newTask(fn, ""))
		wantSuccess(t, r)
		if string(r.Stdout) != "12345" || r.Truncated {
			t.Errorf("stdout %q truncated %v", r.Stdout, r.Truncated)
		}
	})

	t.Run("timeout kills the process group", func(t *testing.T) {
		t.Parallel()
		task, pidFile := childTask(t, "echo started; wait")
		// Long enough for the shell to start and print on a loaded machine.
		task.Function.Timeout = 2 * time.Second
		start := time.Now()
		r := runOne(t, task)
		wantError(t, r, funcx.TaskTimeout, "timed out after 2s")
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("took %v", took)
		}
		if r.ExitCode != -1 || string(r.Stdout) != "started\n" {
			t.Errorf("exit %d stdout %q: output before the kill must be kept", r.ExitCode, r.Stdout)
		}
		waitGone(t, readPID(t, pidFile))
	})

	t.Run("background leftovers are killed at exit", func(t *testing.T) {
		t.Parallel()
		// The child keeps stdout open; the worker must not wait for it.
		task, pidFile := childTask(t, "true")
		r := runOne(t, task)
		wantSuccess(t, r)
		waitGone(t, readPID(t, pidFile))
	})
}
