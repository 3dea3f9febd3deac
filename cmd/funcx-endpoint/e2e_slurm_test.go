package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// slurmPartition is the default partition of the Slurm cluster that
// scripts/start-services.sh runs; the test fails without it (skips
// under -short).
func slurmPartition(t *testing.T) string {
	t.Helper()
	needs.Services(t, needs.Slurm)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "--noheader", "--format=%P %a").CombinedOutput()
	if err != nil {
		t.Fatalf("no Slurm cluster answers (sinfo: %v: %s): run scripts/start-services.sh as root, which installs and starts a one-node Slurm", err, strings.TrimSpace(string(out)))
	}
	for line := range strings.Lines(string(out)) {
		name, avail, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.HasSuffix(name, "*") && avail == "up" {
			return strings.TrimSuffix(name, "*")
		}
	}
	t.Fatalf("Slurm has no default partition up (sinfo: %s): run scripts/start-services.sh", strings.TrimSpace(string(out)))
	return ""
}

// slurmJob is a job as squeue shows it.
type slurmJob struct{ id, name, state string }

// slurmEnded are the states of jobs that have ended; squeue keeps them for
// MinJobAge. A COMPLETING job is still a job: its processes are being
// killed.
var slurmEnded = []string{"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY"}

// runJobs are the jobs of an endpoint run that have not ended: the Slurm
// provider puts funcx-run=RUN in the comment of every job of the run.
func runJobs(t *testing.T, runID string) []slurmJob {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "squeue", "--noheader", "--states=all", "--format=%i|%j|%T|%k").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v: %s", err, out)
	}
	var jobs []slurmJob
	for line := range strings.Lines(string(out)) {
		f := strings.SplitN(strings.TrimSpace(line), "|", 4)
		if len(f) == 4 && f[3] == "funcx-run="+runID && !slices.Contains(slurmEnded, f[2]) {
			jobs = append(jobs, slurmJob{id: f[0], name: f[1], state: f[2]})
		}
	}
	return jobs
}

// runningBlock waits until squeue shows the one block of the run running.
func runningBlock(t *testing.T, runID string) slurmJob {
	t.Helper()
	var job slurmJob
	running := eventually(2*time.Minute, func() bool {
		jobs := runJobs(t, runID)
		if len(jobs) > 1 {
			t.Fatalf("squeue shows %d jobs of the run, want 1 (max_blocks = 1): %+v", len(jobs), jobs)
		}
		if len(jobs) == 1 {
			job = jobs[0]
		}
		return job.state == "RUNNING"
	})
	if !running {
		t.Fatalf("squeue does not show the endpoint's block running: %+v", job)
	}
	return job
}

// processEnv is a process's initial environment variable key, "" if
// unset or the process is gone.
func processEnv(pid int, key string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return ""
	}
	for kv := range strings.SplitSeq(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// Issue 5: the endpoint's blocks are Slurm jobs, its tasks run on the
// managers sbatch started, and `funcx-endpoint stop` leaves no job of the
// run in squeue and no process of the run on the node.
func TestEndpointOnSlurmStopLeavesNoJob(t *testing.T) {
	needs.Services(t, needs.RabbitMQ, needs.Slurm)
	t.Parallel()
	partition := slurmPartition(t)
	w := startWorld(t)
	var runIDs []string
	t.Cleanup(func() { // after the daemons and their processes are killed
		var ids []string
		for _, run := range runIDs {
			for _, j := range runJobs(t, run) {
				ids = append(ids, j.id)
			}
		}
		if len(ids) > 0 {
			if out, err := exec.Command("scancel", ids...).CombinedOutput(); err != nil {
				t.Errorf("cleanup: scancel %v: %v: %s", ids, err, out)
			}
		}
	})

	logDir := filepath.Join(w.home, "logs")
	w.configureWith(t, fmt.Sprintf(`max_workers_per_node = 2
heartbeat_period = "1s"
heartbeat_threshold = "10s"
log_dir = %q

[provider]
type = "slurm"
partition = %q
init_blocks = 1
min_blocks = 1
max_blocks = 1
walltime = "10m"
`, logDir, partition))

	ep := w.start(t)
	runID := ep.runID
	runIDs = append(runIDs, runID)
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Running" || row[2] != ep.endpointID {
		t.Fatalf("after start: %q", row)
	}
	// The block is a Slurm job, named after the block, recorded in
	// run.json for a clean-up after a crash.
	job := runningBlock(t, runID)
	if job.name != "funcx-0" {
		t.Errorf("the block's job is named %q, want funcx-0", job.name)
	}
	recorded := func(runID, jobID string) {
		t.Helper()
		var r profile.RunRecord
		var err error
		if !eventually(time.Minute, func() bool {
			r, _, err = w.profile(t).Run()
			return err == nil && r.RunID == runID && r.ProviderType == "slurm" && len(r.Blocks) == 1 && r.Blocks[0].JobID == jobID
		}) {
			t.Fatalf("run.json = %+v, %v: want run %s of provider slurm with the block's job %s", r, err, runID, jobID)
		}
	}
	recorded(runID, job.id)
	if _, err := os.Stat(filepath.Join(logDir, "submit_scripts", "funcx-0.sbatch")); err != nil {
		t.Errorf("the block's sbatch script is not in log_dir: %v", err)
	}

	// Tasks run on the block's manager: inside the job (its workers see
	// SLURM_JOB_ID), on a manager of block 0 whose process sbatch started.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := w.client(t)
	echo, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "go", GoName: worker.NameEcho})
	if err != nil {
		t.Fatal(err)
	}
	jobOf, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "job", Kind: "shell", Script: "echo job=$SLURM_JOB_ID task={n}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := cl.Executor(ep.endpointID)
	defer ex.Close()
	var echoIn, jobIn []any
	for i := range 20 {
		echoIn = append(echoIn, i)
		jobIn = append(jobIn, map[string]int{"n": i})
	}
	echoes, err := ex.Map(ctx, echo, echoIn)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := ex.Map(ctx, jobOf, jobIn)
	if err != nil {
		t.Fatal(err)
	}
	managers := map[string]bool{}
	for i, f := range echoes {
		r, err := f.Result(ctx)
		if err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
		var n int
		if err := r.Output(&n); err != nil || n != i {
			t.Fatalf("echo %d: output %d, %v", i, n, err)
		}
		managers[r.TaskResult.Manager] = true
	}
	for i, f := range jobs {
		r, err := f.Result(ctx)
		if err != nil {
			t.Fatalf("job task %d: %v", i, err)
		}
		if got, want := string(r.Stdout()), fmt.Sprintf("job=%s task=%d\n", job.id, i); got != want {
			t.Fatalf("job task %d printed %q, want %q: it did not run in the block's Slurm job", i, got, want)
		}
		managers[r.TaskResult.Manager] = true
	}
	// Manager IDs are BLOCK.HOST.PID.
	for m := range managers {
		parts := strings.Split(m, ".")
		pid, err := strconv.Atoi(parts[len(parts)-1])
		if len(parts) < 3 || parts[0] != "0" || err != nil {
			t.Fatalf("a task ran on manager %q, not one of block 0", m)
		}
		if got := processEnv(pid, "SLURM_JOB_ID"); got != job.id {
			t.Fatalf("manager %s (pid %d) has SLURM_JOB_ID %q, want the block's job %s: sbatch did not start it", m, pid, got, job.id)
		}
		if got := processEnv(pid, profile.EnvRunID); got != runID {
			t.Fatalf("manager %s (pid %d) has %s %q, want the run %s", m, pid, profile.EnvRunID, got, runID)
		}
	}

	o := w.run(t, "stop")
	if o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	if ep.daemon.Alive() {
		t.Fatalf("daemon %d still runs after stop", ep.daemon.PID)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" || row[2] != ep.endpointID {
		t.Fatalf("after stop: %q", row)
	}
	// The job may be COMPLETING a while, its processes being killed.
	var left []slurmJob
	if !eventually(2*time.Minute, func() bool { left = runJobs(t, runID); return len(left) == 0 }) {
		t.Fatalf("jobs of the run remain in squeue after stop: %+v", left)
	}
	var procs []int
	if !eventually(time.Minute, func() bool { procs = profile.RunProcesses(runID); return len(procs) == 0 }) {
		t.Fatalf("processes %v of the run remain after stop", procs)
	}
	for _, f := range []string{profile.PIDFile, profile.RunFile} {
		if _, err := os.Stat(w.profile(t).Path(f)); !os.IsNotExist(err) {
			t.Errorf("%s remains after stop", f)
		}
	}

	// After a crash (kill -9 of the daemon; its manager frozen, so that
	// the job outlives it as it would if the manager were stuck or slow
	// to notice), stop cleans up: it cancels the job run.json names, and
	// squeue shows no job of the run.
	crashed := w.start(t)
	runIDs = append(runIDs, crashed.runID)
	crashedJob := runningBlock(t, crashed.runID)
	recorded(crashed.runID, crashedJob.id)
	w.killed(t, crashed, false)
	if jobs := runJobs(t, crashed.runID); len(jobs) != 1 || jobs[0].id != crashedJob.id {
		t.Fatalf("after kill -9 squeue shows %+v, want the block's job %s still there", jobs, crashedJob.id)
	}
	o = w.run(t, "stop")
	if o.code != 0 || !strings.Contains(o.stderr, "was not stopped cleanly: cleaned up") ||
		!strings.Contains(o.stderr, "cancelled blocks "+crashedJob.id) {
		t.Fatalf("stop after kill -9: %+v, want it to say it cancelled block %s", o, crashedJob.id)
	}
	if !eventually(2*time.Minute, func() bool { left = runJobs(t, crashed.runID); return len(left) == 0 }) {
		t.Fatalf("jobs of the crashed run remain in squeue after stop: %+v", left)
	}
	if procs := profile.RunProcesses(crashed.runID); len(procs) != 0 {
		t.Fatalf("processes %v of the crashed run remain after stop", procs)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" {
		t.Fatalf("after stop: %q", row)
	}
}
