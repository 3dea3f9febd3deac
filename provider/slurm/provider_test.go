package slurm_test

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
	"github.com/funcx-go/funcx/provider/providertest"
	"github.com/funcx-go/funcx/provider/slurm"
)

// fakeSlurm answers like Slurm 22.05 without accounting: sacct says so,
// squeue knows the jobs in queue, sbatch hands out IDs from 100.
type fakeSlurm struct {
	squeue string // squeue's stdout for any query
	sacct  string // sacct's stdout; "" means accounting is disabled
	sbatch func(call providertest.RunCall) (provider.RunResult, error)
}

func commandError(name string, code int, stderr string) error {
	return &provider.CommandError{Command: name, ExitCode: code, Stderr: strings.TrimSpace(stderr), Err: errors.New("exit status")}
}

func (f *fakeSlurm) handle(_ context.Context, call providertest.RunCall) (provider.RunResult, error) {
	switch call.Name {
	case "sbatch":
		if f.sbatch != nil {
			return f.sbatch(call)
		}
		return provider.RunResult{Stdout: []byte("100\n")}, nil
	case "sacct":
		if f.sacct == "" {
			res := provider.RunResult{Stdout: []byte("Slurm accounting storage is disabled\n"), ExitCode: 1}
			return res, commandError("sacct", 1, "")
		}
		return provider.RunResult{Stdout: []byte(f.sacct)}, nil
	case "squeue":
		return provider.RunResult{Stdout: []byte(f.squeue)}, nil
	case "scancel":
		return provider.RunResult{}, nil
	}
	return provider.RunResult{ExitCode: 127}, commandError(call.Name, 127, "command not found")
}

func newFake(t *testing.T, f *fakeSlurm, status string) (*slurm.Provider, *providertest.FakeRunner) {
	t.Helper()
	r := &providertest.FakeRunner{Handler: f.handle}
	p, err := slurm.New(slurm.Config{Runner: r, StatusCommand: status})
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func names(calls []providertest.RunCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Name)
	}
	return out
}

func TestSubmitWritesScriptAndReadsID(t *testing.T) {
	for _, stdout := range []string{"100\n", "100;cluster\n", "Submitted batch job 100\n"} {
		p, r := newFake(t, &fakeSlurm{sbatch: func(providertest.RunCall) (provider.RunResult, error) {
			return provider.RunResult{Stdout: []byte(stdout)}, nil
		}}, "")
		dir := t.TempDir()
		id, err := p.Submit(context.Background(), provider.Job{BlockID: "3", Command: "exec manager", ScriptDir: dir,
			Env: map[string]string{"SECRET": "s3cret"}})
		if err != nil || id != "100" {
			t.Fatalf("sbatch said %q: Submit = %q, %v; want 100", stdout, id, err)
		}
		calls := r.Calls()
		script := filepath.Join(dir, "funcx-3.sbatch")
		if len(calls) != 1 || !slices.Equal(calls[0].Args, []string{"--parsable", script}) {
			t.Fatalf("calls %+v, want one sbatch --parsable %s", calls, script)
		}
		fi, err := os.Stat(script)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("script mode %v, want 0600: it holds the run's secret", fi.Mode().Perm())
		}
		b, _ := os.ReadFile(script)
		if !strings.Contains(string(b), "export SECRET=s3cret\n") || !strings.HasSuffix(string(b), "exec manager\n") {
			t.Errorf("script:\n%s", b)
		}
	}
}

func TestSubmitCarriesSbatchError(t *testing.T) {
	const stderr = "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n"
	p, _ := newFake(t, &fakeSlurm{sbatch: func(providertest.RunCall) (provider.RunResult, error) {
		return provider.RunResult{Stderr: []byte(stderr), ExitCode: 1}, commandError("sbatch --parsable x", 1, stderr)
	}}, "")
	_, err := p.Submit(context.Background(), provider.Job{BlockID: "0", Command: "true", ScriptDir: t.TempDir(), Partition: "nope"})
	if err == nil {
		t.Fatal("Submit succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"block 0", "invalid partition specified: nope", "Batch job submission failed: Invalid partition name specified"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q spans lines", msg)
	}
	var ce *provider.CommandError
	if !errors.As(err, &ce) {
		t.Errorf("error %v does not wrap the CommandError", err)
	}
}

func TestSubmitRefusesOutputWithoutID(t *testing.T) {
	p, _ := newFake(t, &fakeSlurm{sbatch: func(providertest.RunCall) (provider.RunResult, error) {
		return provider.RunResult{Stdout: []byte("sbatch: queued somewhere\n")}, nil
	}}, "")
	if id, err := p.Submit(context.Background(), provider.Job{BlockID: "0", Command: "true", ScriptDir: t.TempDir()}); err == nil {
		t.Fatalf("Submit = %q, want an error", id)
	}
}

// Without accounting: squeue for all, sacct once for what squeue does not
// know, and after sacct said accounting is disabled, squeue alone. IDs
// neither knows are missing; IDs that are no Slurm job IDs are not asked.
func TestStatusWithoutAccounting(t *testing.T) {
	f := &fakeSlurm{squeue: "7|RUNNING|None|0|0:05|1:00|/x|\n5|PENDING|Priority|0|0:00|1:00|/x|\n"}
	p, r := newFake(t, f, "")
	ids := []provider.JobID{"5", "6", "7", "not-slurm"}
	for range 2 {
		got, err := p.Status(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		want := []provider.JobState{provider.JobPending, provider.JobMissing, provider.JobRunning, provider.JobMissing}
		for i, st := range got {
			if st.ID != ids[i] || st.State != want[i] {
				t.Errorf("status %d = %+v, want %s %s", i, st, ids[i], want[i])
			}
		}
		if got[0].Message != "Priority" {
			t.Errorf("pending message %q, want Slurm's reason", got[0].Message)
		}
	}
	calls := r.Calls()
	if got := names(calls); !slices.Equal(got, []string{"squeue", "sacct", "squeue"}) {
		t.Fatalf("commands %v, want squeue, sacct once, then squeue alone", got)
	}
	if !slices.Contains(calls[0].Args, "--jobs=5,6,7") || !slices.Contains(calls[0].Args, "--states=all") {
		t.Errorf("squeue args %v, want --states=all --jobs=5,6,7", calls[0].Args)
	}
	if !slices.Contains(calls[1].Args, "--jobs=6") {
		t.Errorf("sacct args %v, want --jobs=6", calls[1].Args)
	}
}

// With accounting: sacct answers for the jobs squeue has forgotten.
func TestStatusAsksSacctForForgottenJobs(t *testing.T) {
	f := &fakeSlurm{
		squeue: "43|PENDING|Resources|0|0:00|1:00|/x|\n",
		sacct:  "41|COMPLETED|0:0|00:00:05|01:00:00|None\n42|CANCELLED by 0|0:15|00:00:17|00:01:00|None\n",
	}
	p, r := newFake(t, f, "")
	got, err := p.Status(context.Background(), []provider.JobID{"41", "42", "43", "44"})
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.JobState{provider.JobCompleted, provider.JobCancelled, provider.JobPending, provider.JobMissing}
	for i, st := range got {
		if st.State != want[i] {
			t.Errorf("status %d = %+v, want %s", i, st, want[i])
		}
	}
	calls := r.Calls()
	if got := names(calls); !slices.Equal(got, []string{"squeue", "sacct"}) {
		t.Fatalf("commands %v", got)
	}
	if !slices.Contains(calls[0].Args, "--jobs=41,42,43,44") || !slices.Contains(calls[1].Args, "--jobs=41,42,44") {
		t.Errorf("args %v / %v", calls[0].Args, calls[1].Args)
	}
}

// sacct failing for another reason than disabled accounting (slurmdbd
// down) leaves what squeue said standing; the rest is unknown, not
// missing, so no block is given up on for it.
func TestStatusSacctDown(t *testing.T) {
	r := &providertest.FakeRunner{Handler: func(_ context.Context, c providertest.RunCall) (provider.RunResult, error) {
		if c.Name == "squeue" {
			return provider.RunResult{Stdout: []byte("2|RUNNING|None|0|0:05|1:00|/x|\n")}, nil
		}
		const stderr = "sacct: error: Problem talking to the database: Connection refused\n"
		return provider.RunResult{Stderr: []byte(stderr), ExitCode: 1}, commandError("sacct", 1, stderr)
	}}
	p, _ := slurm.New(slurm.Config{Runner: r})
	got, err := p.Status(context.Background(), []provider.JobID{"1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].State != provider.JobUnknown || !strings.Contains(got[0].Message, "Connection refused") || got[1].State != provider.JobRunning {
		t.Fatalf("Status = %+v; want unknown (with sacct's error), running", got)
	}
}

func TestStatusAllUnknown(t *testing.T) {
	r := &providertest.FakeRunner{Handler: func(_ context.Context, c providertest.RunCall) (provider.RunResult, error) {
		const stderr = "slurm_load_jobs error: Invalid job id specified\n"
		return provider.RunResult{Stderr: []byte(stderr), ExitCode: 1}, commandError(c.Name, 1, stderr)
	}}
	p, err := slurm.New(slurm.Config{Runner: r, StatusCommand: slurm.StatusSqueue})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Status(context.Background(), []provider.JobID{"999"})
	if err != nil || len(got) != 1 || got[0].State != provider.JobMissing || !strings.Contains(got[0].Message, "no record") {
		t.Fatalf("Status = %+v, %v; want missing", got, err)
	}
}

func TestStatusSchedulerDown(t *testing.T) {
	r := &providertest.FakeRunner{Handler: func(_ context.Context, c providertest.RunCall) (provider.RunResult, error) {
		const stderr = "squeue: error: slurm_receive_msg: Socket timed out on send/recv operation\n"
		return provider.RunResult{Stderr: []byte(stderr), ExitCode: 1}, commandError(c.Name, 1, stderr)
	}}
	p, _ := slurm.New(slurm.Config{Runner: r})
	if got, err := p.Status(context.Background(), []provider.JobID{"1"}); err == nil || !strings.Contains(err.Error(), "Socket timed out") {
		t.Fatalf("Status = %+v, %v; want squeue's error", got, err)
	}
}

func TestStatusGarbledOutputIsAnError(t *testing.T) {
	p, _ := newFake(t, &fakeSlurm{squeue: "JOBID STATE\n1 RUNNING\n"}, slurm.StatusSqueue)
	if got, err := p.Status(context.Background(), []provider.JobID{"1"}); err == nil {
		t.Fatalf("Status = %+v, want an error for output squeue does not print", got)
	}
}

func TestStatusNoIDsAsksNothing(t *testing.T) {
	p, r := newFake(t, &fakeSlurm{}, "")
	got, err := p.Status(context.Background(), nil)
	if err != nil || len(got) != 0 || len(r.Calls()) != 0 {
		t.Fatalf("Status(nil) = %v, %v with calls %v", got, err, r.Calls())
	}
}

// The messages and states the provider derives from Slurm's records.
func TestStatusMeanings(t *testing.T) {
	dir := t.TempDir()
	errFile := filepath.Join(dir, "funcx-0.34.err")
	if err := os.WriteFile(errFile, []byte("manager: cannot dial 10.0.0.1:5000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeSlurm{squeue: strings.Join([]string{
		"31|PENDING|JobHeldUser|0|0:00|1:00|/x|",
		"32|SUSPENDED|None|0|0:10|1:00|/x|",
		"33|COMPLETED|None|0|1:00|1:00|/x|",
		"34|FAILED|NonZeroExitCode|256|0:01|1:00|" + filepath.Join(dir, "funcx-0.%j.err") + "|",
		"35|TIMEOUT|TimeLimit|15|1:01|1:00|/x|",
		"36|COMPLETED|None|0|0:30|1:00|/x|",
		"37|CANCELLED|None|15|0:30|1:00|/x|",
		"38|REVOKED|None|0|0:30|1:00|/x|",
		"39|PREEMPTED|None|0|0:30|1:00|/x|",
	}, "\n") + "\n"}
	p, _ := newFake(t, f, slurm.StatusSqueue)
	ids := []provider.JobID{"31", "32", "33", "34", "35", "36", "37", "38", "39"}
	got, err := p.Status(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		state provider.JobState
		code  int
		msg   string
	}{
		{provider.JobHeld, 0, "JobHeldUser"},
		{provider.JobHeld, 0, "SUSPENDED"},
		{provider.JobTimeout, 0, "ran to its time limit"},
		{provider.JobFailed, 1, "cannot dial 10.0.0.1:5000"},
		{provider.JobTimeout, 143, "reached its time limit (1m0s)"},
		{provider.JobCompleted, 0, ""},
		{provider.JobCancelled, 143, "CANCELLED"},
		{provider.JobUnknown, 0, "REVOKED"},
		{provider.JobTimeout, 0, "PREEMPTED"},
	} {
		st := got[i]
		if st.State != want.state || st.ExitCode != want.code || !strings.Contains(st.Message, want.msg) || (want.msg == "" && st.Message != "") {
			t.Errorf("job %s: %s exit %d %q; want %s exit %d with %q", st.ID, st.State, st.ExitCode, st.Message, want.state, want.code, want.msg)
		}
	}
}

func TestCancelIsOneScancel(t *testing.T) {
	p, r := newFake(t, &fakeSlurm{}, "")
	if err := p.Cancel(context.Background(), []provider.JobID{"1", "bogus", "2"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Cancel(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	calls := r.Calls()
	if len(calls) != 1 || calls[0].Name != "scancel" || !slices.Equal(calls[0].Args, []string{"1", "2"}) {
		t.Fatalf("calls %+v, want one scancel 1 2", calls)
	}
}

func TestCancelErrors(t *testing.T) {
	for stderr, wantErr := range map[string]bool{
		"scancel: error: Kill job error on job id 5: Invalid job id specified\n":                 false,
		"scancel: error: Kill job error on job id 5: Job/step already completing or completed\n": false,
		"scancel: error: Kill job error on job id 5: Access/permission denied\n":                 true,
		"scancel: error: slurm_receive_msg: Socket timed out on send/recv operation\n":           true,
		"": true,
	} {
		r := &providertest.FakeRunner{Handler: func(context.Context, providertest.RunCall) (provider.RunResult, error) {
			return provider.RunResult{Stderr: []byte(stderr), ExitCode: 1}, commandError("scancel 5", 1, stderr)
		}}
		p, _ := slurm.New(slurm.Config{Runner: r})
		if err := p.Cancel(context.Background(), []provider.JobID{"5"}); (err != nil) != wantErr {
			t.Errorf("scancel said %q: Cancel = %v, want error %v", stderr, err, wantErr)
		}
	}
}

// Every Slurm command has a timeout: a hung sbatch is killed and its
// Submit fails saying so.
func TestCommandTimeout(t *testing.T) {
	hung := filepath.Join(t.TempDir(), "sbatch")
	if err := os.WriteFile(hung, []byte("#!/bin/sh\nexec sleep 600\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	p, err := slurm.New(slurm.Config{Sbatch: hung, CommandTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Submit(context.Background(), provider.Job{BlockID: "0", Command: "true", ScriptDir: t.TempDir()})
	var ce *provider.CommandError
	if !errors.As(err, &ce) || ce.Timeout == 0 {
		t.Fatalf("Submit with a hung sbatch = %v, want a timeout", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []slurm.Config{{StatusCommand: "scontrol"}, {CommandTimeout: -time.Second}} {
		if _, err := slurm.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted it", cfg)
		}
	}
}
