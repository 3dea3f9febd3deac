package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// momPoll is how often the MoM looks for a qdel and the walltime.
const momPoll = 20 * time.Millisecond

// mom runs one job: it waits out the queueing delay, runs the script,
// and records how it ended.
func mom(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "pbs_mom: usage: pbs_mom SEQ (started by qsub)")
		return exitUsage
	}
	id := args[0]
	time.Sleep(envDuration("PBS_SHIM_START_DELAY", 200*time.Millisecond))
	killDelay := envDuration("PBS_SHIM_KILL_DELAY", 2*time.Second)

	cmd, j, err := start(id)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pbs_mom: %v\n", err)
		return 1
	}
	if cmd == nil {
		return 0 // deleted while queued
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	var walltimeKilled bool
	var termSent time.Time
	deadline := time.Time{}
	if j.Walltime > 0 {
		deadline = j.STime.Add(time.Duration(j.Walltime) * time.Second)
	}
	tick := time.NewTicker(momPoll)
	defer tick.Stop()
	var werr error
loop:
	for {
		select {
		case werr = <-waitErr:
			break loop
		case now := <-tick.C:
			if !deadline.IsZero() && now.After(deadline) && !walltimeKilled {
				walltimeKilled = true
				used := int64(now.Sub(j.STime).Round(time.Second) / time.Second)
				if f, err := os.OpenFile(j.ErrPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
					fmt.Fprintf(f, "=>> PBS: job killed: walltime %d exceeded limit %d\n", used, j.Walltime)
					f.Close()
				}
				_ = syscall.Kill(-j.PGID, syscall.SIGTERM)
				termSent = now
			}
			if termSent.IsZero() {
				if deleteAt, ok := deleteRequested(id); ok {
					termSent = deleteAt // qdel sent SIGTERM itself
				}
			}
			if !termSent.IsZero() && now.Sub(termSent) > killDelay {
				_ = syscall.Kill(-j.PGID, syscall.SIGKILL)
			}
		}
	}
	// As PBS ends a job's whole session, nothing of it outlives the job.
	_ = syscall.Kill(-j.PGID, syscall.SIGKILL)

	status := 0
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		status = 256 + int(ws.Signal())
	} else if cmd.ProcessState != nil {
		status = cmd.ProcessState.ExitCode()
	} else {
		fmt.Fprintf(os.Stderr, "pbs_mom: wait: %v\n", werr)
		status = -2
	}
	if walltimeKilled {
		status = exitKillWalltim
	}
	if err := finish(id, status); err != nil {
		fmt.Fprintf(os.Stderr, "pbs_mom: %v\n", err)
		return 1
	}
	return 0
}

// start moves a queued job to R and starts its script; it returns a nil
// command if the job was deleted while queued.
func start(id string) (*exec.Cmd, *job, error) {
	srv, err := openServer()
	if err != nil {
		return nil, nil, err
	}
	defer srv.close()
	j, err := srv.load(id)
	if err != nil || j == nil {
		return nil, nil, fmt.Errorf("job %s: %v", id, err)
	}
	if j.State != "Q" {
		return nil, j, nil
	}
	out, err := os.OpenFile(j.OutPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	defer out.Close()
	errf, err := os.OpenFile(j.ErrPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	defer errf.Close()
	home, _ := os.UserHomeDir()
	cmd := exec.Command(j.Shell, j.Script)
	cmd.Dir = home
	cmd.Stdout, cmd.Stderr = out, errf
	// The job's environment is PBS's, not the submitter's: only what the
	// script exports reaches the manager.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "SHELL=" + j.Shell,
		"PBS_JOBID=" + j.id(), "PBS_JOBNAME=" + j.Name, "PBS_QUEUE=" + j.Queue,
		"PBS_O_WORKDIR=" + j.WorkDir, "PBS_ENVIRONMENT=PBS_BATCH", "PBS_O_HOST=" + serverName,
		"PBS_SHIM_STATE=" + os.Getenv("PBS_SHIM_STATE"),
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		code := -1 // JOB_EXEC_FAIL1
		j.State, j.ExitStatus, j.ETime = "F", &code, time.Now()
		j.Comment = "Job failed to start: " + err.Error()
		return nil, nil, srv.save(j)
	}
	host, _ := os.Hostname()
	j.State, j.STime, j.PGID = "R", time.Now(), cmd.Process.Pid
	j.Comment = fmt.Sprintf("Job run at %s on (%s:ncpus=1)", j.STime.Format("Mon Jan 02 at 15:04"), host)
	return cmd, j, srv.save(j)
}

// deleteRequested reports whether qdel has asked for the job to end.
func deleteRequested(id string) (time.Time, bool) {
	srv, err := openServer()
	if err != nil {
		return time.Time{}, false
	}
	defer srv.close()
	j, err := srv.load(id)
	if err != nil || j == nil || j.DeleteAt.IsZero() {
		return time.Time{}, false
	}
	return j.DeleteAt, true
}

// finish records the job's end: E briefly (staging out), then F.
func finish(id string, status int) error {
	if err := setState(id, func(j *job) { j.State = "E" }); err != nil {
		return err
	}
	time.Sleep(momPoll)
	return setState(id, func(j *job) {
		j.State, j.ExitStatus, j.ETime = "F", &status, time.Now()
		if j.DeleteAt.IsZero() {
			j.Comment += " and finished"
		} else {
			j.Comment += " and terminated"
		}
	})
}

func setState(id string, f func(*job)) error {
	srv, err := openServer()
	if err != nil {
		return err
	}
	defer srv.close()
	j, err := srv.load(id)
	if err != nil || j == nil {
		return fmt.Errorf("job %s vanished: %v", id, err)
	}
	f(j)
	return srv.save(j)
}
