package slurm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
	"github.com/funcx-go/funcx/provider/slurm"
)

// requireSlurm fails the test unless a Slurm cluster answers here (it
// skips it under -short).
func requireSlurm(t *testing.T) {
	t.Helper()
	needs.Services(t, needs.Slurm)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "--noheader", "--format=%a %T").CombinedOutput()
	if err != nil {
		t.Fatalf("no Slurm cluster answers (sinfo: %v: %s): run scripts/start-services.sh, which installs and starts a one-node Slurm", err, strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), "up") {
		t.Fatalf("Slurm has no partition up (sinfo: %s): run scripts/start-services.sh", strings.TrimSpace(string(out)))
	}
}

// queued lists the IDs of the jobs squeue shows as pending or running
// whose comment contains label.
func queued(t *testing.T, label string) []provider.JobID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "squeue", "--noheader", "--states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED",
		"--Format=JobID:|,Comment:|").Output()
	if err != nil {
		t.Fatalf("squeue: %v", err)
	}
	var ids []provider.JobID
	for line := range strings.Lines(string(out)) {
		id, comment, _ := strings.Cut(strings.TrimSpace(line), "|")
		if strings.Contains(comment, label) {
			ids = append(ids, provider.JobID(id))
		}
	}
	return ids
}

// cancelLabelled cancels every job of ours still queued: the tests'
// last line of defence against leaving jobs behind.
func cancelLabelled(t *testing.T, label string) {
	t.Helper()
	ids := queued(t, label)
	if len(ids) == 0 {
		return
	}
	args := make([]string, len(ids))
	for i, id := range ids {
		args[i] = string(id)
	}
	if out, err := exec.Command("scancel", args...).CombinedOutput(); err != nil {
		t.Errorf("cleanup: scancel %v: %v: %s", args, err, out)
	}
}

// The provider contract, on the real cluster; Slurm's walltimes are
// whole minutes, so the walltime case takes one.
func TestConformance(t *testing.T) {
	t.Parallel()
	runConformance(t, slurm.StatusAuto, time.Minute)
}

// The same, reading states from squeue only, as on clusters without
// accounting.
func TestConformanceSqueue(t *testing.T) {
	t.Parallel()
	runConformance(t, slurm.StatusSqueue, 0)
}

func runConformance(t *testing.T, status string, walltime time.Duration) {
	requireSlurm(t)
	tag := fmt.Sprintf("conformance-%s-%d", status, time.Now().UnixNano())
	t.Cleanup(func() { cancelLabelled(t, "funcx-test="+tag) })
	providertest.RunConformance(t, func(t *testing.T) provider.Provider {
		p, err := slurm.New(slurm.Config{StatusCommand: status})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}, providertest.Options{
		Job: func(t *testing.T) provider.Job {
			return provider.Job{ScriptDir: t.TempDir(), Labels: map[string]string{"funcx-test": tag}}
		},
		StderrInMessage: true,
		UnknownID:       "999999999",
		Walltime:        walltime,
		Timeout:         2 * time.Minute,
		PollInterval:    200 * time.Millisecond,
	})
}

// Jobs squeue has forgotten (past MinJobAge) are read from the real
// sacct: a squeue shim answers as squeue does for IDs it no longer knows.
func TestStatusFromSacctWhenSqueueForgot(t *testing.T) {
	t.Parallel()
	requireSlurm(t)
	tag := fmt.Sprintf("sacct-%d", time.Now().UnixNano())
	t.Cleanup(func() { cancelLabelled(t, "funcx-test="+tag) })
	live, err := slurm.New(slurm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	submit := func(block, command string) provider.JobID {
		t.Helper()
		id, err := live.Submit(context.Background(), provider.Job{BlockID: block, Command: command, ScriptDir: dir,
			Labels: map[string]string{"funcx-test": tag}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ids := []provider.JobID{submit("ok", "exit 0"), submit("fail", "exit 3"), submit("long", "sleep 3600")}
	t.Cleanup(func() { _ = live.Cancel(context.Background(), ids) })
	if err := live.Cancel(context.Background(), ids[2:]); err != nil {
		t.Fatal(err)
	}
	ended := func(p *slurm.Provider) []provider.JobStatus {
		got, err := p.Status(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	allEnded := func(sts []provider.JobStatus) bool {
		for _, st := range sts {
			if !st.State.Terminal() {
				return false
			}
		}
		return true
	}
	providertest.WaitFor(t, 2*time.Minute, "the jobs to end (squeue)", func() bool { return allEnded(ended(live)) })

	shim := filepath.Join(t.TempDir(), "squeue")
	script := "#!/bin/sh\necho 'slurm_load_jobs error: Invalid job id specified' >&2\nexit 1\n"
	if err := os.WriteFile(shim, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	forgetful, err := slurm.New(slurm.Config{Squeue: shim})
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.JobState{provider.JobCompleted, provider.JobFailed, provider.JobCancelled}
	var got []provider.JobStatus
	// slurmdbd records a job's end a moment after slurmctld knows it.
	providertest.WaitFor(t, 2*time.Minute, "sacct to record the ends", func() bool {
		got = ended(forgetful)
		for i, st := range got {
			if st.State != want[i] {
				return false
			}
		}
		return true
	})
	if got[1].ExitCode != 3 {
		t.Errorf("failed job's exit code from sacct = %d, want 3", got[1].ExitCode)
	}
	if !strings.Contains(got[2].Message, "CANCELLED") {
		t.Errorf("cancelled job's message %q", got[2].Message)
	}
}
