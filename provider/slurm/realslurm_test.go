package slurm_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
	"github.com/funcx-go/funcx/provider/slurm"
)

// requireSlurm fails the test unless a Slurm cluster answers here.
func requireSlurm(t *testing.T) {
	t.Helper()
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

// The provider contract, on the real cluster, reading states from sacct
// (scripts/start-services.sh sets up slurmdbd); Slurm's walltimes are
// whole minutes, so the walltime case takes one.
func TestConformance(t *testing.T) {
	t.Parallel()
	runConformance(t, slurm.StatusSacct, time.Minute)
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
