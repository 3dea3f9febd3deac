package pbs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/pbs"
	"github.com/funcx-go/funcx/provider/providertest"
)

// fakeProvider returns a provider whose commands are answered by handle.
func fakeProvider(t *testing.T, handle func(call providertest.RunCall) (provider.RunResult, error)) (*pbs.Provider, *providertest.FakeRunner) {
	t.Helper()
	r := &providertest.FakeRunner{Handler: func(_ context.Context, call providertest.RunCall) (provider.RunResult, error) {
		return handle(call)
	}}
	p, err := pbs.New(pbs.Config{Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// failed is what provider.ExecRunner returns for a command that exited
// with code and wrote stderr.
func failed(name string, code int, stdout, stderr string) (provider.RunResult, error) {
	res := provider.RunResult{Stdout: []byte(stdout), Stderr: []byte(stderr), ExitCode: code}
	return res, &provider.CommandError{Command: name, ExitCode: code, Stderr: strings.TrimSpace(stderr), Err: errors.New("exit status")}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("writes the script and returns qsub's ID", func(t *testing.T) {
		t.Parallel()
		var script string
		p, r := fakeProvider(t, func(call providertest.RunCall) (provider.RunResult, error) {
			b, err := os.ReadFile(call.Args[0])
			if err != nil {
				t.Errorf("read script: %v", err)
			}
			script = string(b)
			return provider.RunResult{Stdout: []byte("4242.pbs-server\n")}, nil
		})
		dir := filepath.Join(t.TempDir(), "submit_scripts")
		id, err := p.Submit(ctx, provider.Job{BlockID: "3", Command: "run-manager", ScriptDir: dir, Queue: "debug", Env: map[string]string{"A": "b c"}})
		if err != nil || id != "4242.pbs-server" {
			t.Fatalf("Submit = %q, %v", id, err)
		}
		calls := r.Calls()
		if len(calls) != 1 || calls[0].Name != "qsub" || len(calls[0].Args) != 1 || filepath.Dir(calls[0].Args[0]) != dir {
			t.Fatalf("calls = %+v", calls)
		}
		for _, want := range []string{"#PBS -N funcx-3\n", "#PBS -q debug\n", "#PBS -o " + dir + "/3.", "export A='b c'\n", "run-manager\n"} {
			if !strings.Contains(script, want) {
				t.Errorf("script lacks %q:\n%s", want, script)
			}
		}
		if fi, err := os.Stat(calls[0].Args[0]); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("script mode = %v, %v; want 0600 (it holds the run's secret)", fi.Mode(), err)
		}
	})

	t.Run("qsub's error is in the error", func(t *testing.T) {
		t.Parallel()
		p, _ := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return failed("qsub", 170, "", "qsub: Unknown queue\n")
		})
		_, err := p.Submit(ctx, provider.Job{BlockID: "1", Command: "x", ScriptDir: t.TempDir(), Queue: "nope"})
		if err == nil || !strings.Contains(err.Error(), "qsub: Unknown queue") {
			t.Errorf("Submit = %v", err)
		}
	})

	t.Run("qsub timing out is an error", func(t *testing.T) {
		t.Parallel()
		p, _ := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return provider.RunResult{ExitCode: -1}, &provider.CommandError{Command: "qsub", ExitCode: -1, Err: context.DeadlineExceeded, Timeout: time.Second}
		})
		_, err := p.Submit(ctx, provider.Job{BlockID: "1", Command: "x", ScriptDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("Submit = %v", err)
		}
	})

	t.Run("garbage from qsub is an error", func(t *testing.T) {
		t.Parallel()
		p, _ := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return provider.RunResult{Stdout: []byte("<html>proxy error</html>")}, nil
		})
		if _, err := p.Submit(ctx, provider.Job{BlockID: "1", Command: "x", ScriptDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not a job ID") {
			t.Errorf("Submit = %v", err)
		}
	})

	t.Run("values that would break a directive are refused", func(t *testing.T) {
		t.Parallel()
		p, r := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) { return provider.RunResult{}, nil })
		for _, j := range []provider.Job{
			{BlockID: "1", Command: "x", ScriptDir: t.TempDir(), Queue: "debug\n#PBS -l select=1000"},
			{BlockID: "1", Command: "x", ScriptDir: t.TempDir(), Account: "a b"},
			{BlockID: "1", Command: "x", ScriptDir: filepath.Join(t.TempDir(), "my dir")},
		} {
			if _, err := p.Submit(ctx, j); err == nil || !strings.Contains(err.Error(), "white space") {
				t.Errorf("Submit(%+v) = %v", j, err)
			}
		}
		if calls := r.Calls(); len(calls) != 0 {
			t.Errorf("qsub ran: %+v", calls)
		}
	})
}

func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mixed, err := os.ReadFile("testdata/qstat-mixed.json")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("one qstat for all IDs; unknown IDs are missing", func(t *testing.T) {
		t.Parallel()
		p, r := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return failed("qstat", 153, string(mixed), "qstat: Unknown Job Id 99.pbs-server\n")
		})
		ids := []provider.JobID{"1235.pbs-server", "99.pbs-server", "1234.pbs-server", "1236"}
		sts, err := p.Status(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		want := []provider.JobState{provider.JobPending, provider.JobMissing, provider.JobCompleted, provider.JobTimeout}
		for i, st := range sts {
			if st.ID != ids[i] || st.State != want[i] {
				t.Errorf("status %d = %+v, want %s of %s", i, st, want[i], ids[i])
			}
		}
		if !strings.Contains(sts[1].Message, "Unknown Job Id") {
			t.Errorf("missing job's message = %q", sts[1].Message)
		}
		calls := r.Calls()
		if len(calls) != 1 || calls[0].Name != "qstat" || !slices.Equal(calls[0].Args, []string{"-x", "-f", "-F", "json", "1235.pbs-server", "99.pbs-server", "1234.pbs-server", "1236"}) {
			t.Errorf("calls = %+v", calls)
		}
	})

	t.Run("no IDs runs nothing", func(t *testing.T) {
		t.Parallel()
		p, r := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) { return provider.RunResult{}, nil })
		if sts, err := p.Status(ctx, nil); err != nil || len(sts) != 0 || len(r.Calls()) != 0 {
			t.Errorf("Status(nil) = %v, %v after %d calls", sts, err, len(r.Calls()))
		}
	})

	t.Run("what is not a job ID never reaches qstat or qdel", func(t *testing.T) {
		t.Parallel()
		p, r := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) { return provider.RunResult{}, nil })
		sts, err := p.Status(ctx, []provider.JobID{"--help", "-x"})
		if err != nil || sts[0].State != provider.JobMissing || sts[1].State != provider.JobMissing || !strings.Contains(sts[0].Message, "not a PBS job ID") {
			t.Errorf("Status = %+v, %v", sts, err)
		}
		if err := p.Cancel(ctx, []provider.JobID{"-W", "force"}); err != nil {
			t.Errorf("Cancel = %v", err)
		}
		if calls := r.Calls(); len(calls) != 0 {
			t.Errorf("commands ran: %+v", calls)
		}
	})

	for name, answer := range map[string]func() (provider.RunResult, error){
		"server down": func() (provider.RunResult, error) {
			return failed("qstat", 1, "", "Connection refused\nqstat: cannot connect to server pbs-server (errno=15010)\n")
		},
		"timeout": func() (provider.RunResult, error) {
			return provider.RunResult{ExitCode: -1}, &provider.CommandError{Command: "qstat", ExitCode: -1, Err: context.DeadlineExceeded, Timeout: time.Second}
		},
		"bad JSON": func() (provider.RunResult, error) {
			return provider.RunResult{Stdout: []byte(`{"Jobs":{"1.s":{"job_state":`)}, nil
		},
	} {
		t.Run(name+" is an error", func(t *testing.T) {
			t.Parallel()
			p, _ := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) { return answer() })
			if sts, err := p.Status(ctx, []provider.JobID{"1.s"}); err == nil {
				t.Errorf("Status = %+v, want an error", sts)
			}
		})
	}

	t.Run("a job this provider cancelled and qstat forgot is cancelled", func(t *testing.T) {
		t.Parallel()
		p, _ := fakeProvider(t, func(call providertest.RunCall) (provider.RunResult, error) {
			switch call.Name {
			case "qsub":
				return provider.RunResult{Stdout: []byte("5.s\n")}, nil
			case "qstat":
				return failed("qstat", 153, "", "qstat: Unknown Job Id 5.s\n")
			}
			return provider.RunResult{}, nil
		})
		id, err := p.Submit(ctx, provider.Job{BlockID: "1", Command: "x", ScriptDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Cancel(ctx, []provider.JobID{id}); err != nil {
			t.Fatal(err)
		}
		if sts, err := p.Status(ctx, []provider.JobID{id}); err != nil || sts[0].State != provider.JobCancelled {
			t.Errorf("Status = %+v, %v", sts, err)
		}
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("unknown and finished jobs are not an error", func(t *testing.T) {
		t.Parallel()
		p, r := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return failed("qdel", 35, "", "qdel: Unknown Job Id 9.s\nqdel: Job has finished 8.s\n")
		})
		if err := p.Cancel(ctx, []provider.JobID{"9.s", "8.s"}); err != nil {
			t.Errorf("Cancel = %v", err)
		}
		if calls := r.Calls(); len(calls) != 1 || !slices.Equal(calls[0].Args, []string{"9.s", "8.s"}) {
			t.Errorf("calls = %+v", calls)
		}
	})
	t.Run("other errors are", func(t *testing.T) {
		t.Parallel()
		p, _ := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return failed("qdel", 159, "", "qdel: Unauthorized Request  9.s\n")
		})
		if err := p.Cancel(ctx, []provider.JobID{"9.s"}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			t.Errorf("Cancel = %v", err)
		}
	})
	t.Run("a timeout is", func(t *testing.T) {
		t.Parallel()
		p, _ := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) {
			return provider.RunResult{ExitCode: -1}, &provider.CommandError{Command: "qdel", ExitCode: -1, Err: context.DeadlineExceeded, Timeout: time.Second}
		})
		if err := p.Cancel(ctx, []provider.JobID{"9.s"}); err == nil {
			t.Error("Cancel after a timeout returned nil")
		}
	})
	t.Run("no IDs runs nothing", func(t *testing.T) {
		t.Parallel()
		p, r := fakeProvider(t, func(providertest.RunCall) (provider.RunResult, error) { return provider.RunResult{}, nil })
		if err := p.Cancel(ctx, nil); err != nil || len(r.Calls()) != 0 {
			t.Errorf("Cancel(nil) = %v after %d calls", err, len(r.Calls()))
		}
	})
}

// Through the shims: a command that hangs is cut off by the runner's
// timeout, and qsub's real error output reaches the caller.
func TestShimErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newShimServer(t)
	p := s.provider(t, nil)
	_, err := p.Submit(ctx, provider.Job{BlockID: "1", Command: "true", ScriptDir: t.TempDir(), Queue: "nosuchqueue"})
	var cerr *provider.CommandError
	if !errors.As(err, &cerr) || cerr.ExitCode != 170 || !strings.Contains(err.Error(), "qsub: Unknown queue") {
		t.Errorf("Submit to an unknown queue = %v", err)
	}
	sts, err := p.Status(ctx, []provider.JobID{"12345.pbsserver", "not-a-job"})
	if err != nil || sts[0].State != provider.JobMissing || sts[1].State != provider.JobMissing {
		t.Errorf("Status of unknown IDs = %+v, %v", sts, err)
	}
	// No server at all: qstat cannot connect.
	broken := s.provider(t, provider.ExecRunner{Timeout: 30 * time.Second, Env: append(os.Environ(), "PBS_SHIM_STATE=")})
	if _, err := broken.Status(ctx, []provider.JobID{"1.pbsserver"}); err == nil || !strings.Contains(err.Error(), "cannot connect to server") {
		t.Errorf("Status without a server = %v", err)
	}
}
