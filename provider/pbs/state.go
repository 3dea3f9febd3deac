package pbs

import (
	"fmt"
	"strings"

	"github.com/funcx-go/funcx/provider"
)

// PBS Pro's Exit_status values that are not a script's exit code: a
// negative value is one of the server's JOB_EXEC_* codes, and 256+N
// means the job was killed by signal N.
const (
	// exitKillWalltime is JOB_EXEC_KILL_WALLTIME: the MoM killed the job
	// because it exceeded its walltime.
	exitKillWalltime = -29
	// exitSignalBase is added to a signal number when a job is killed by
	// it.
	exitSignalBase = 256
	// exitKilledByTERM is qdel's signal: 256 + SIGTERM.
	exitKilledByTERM = exitSignalBase + 15
	// exitKilledByKILL is qdel's follow-up after kill_delay: 256 +
	// SIGKILL.
	exitKilledByKILL = exitSignalBase + 9
)

// jobExecCodes names PBS Pro's negative JOB_EXEC_* exit statuses for
// messages (src/include/job.h).
var jobExecCodes = map[int]string{
	-1:  "JOB_EXEC_FAIL1: the job could not start (before files were staged)",
	-2:  "JOB_EXEC_FAIL2: the job could not start (after files were staged)",
	-3:  "JOB_EXEC_RETRY: the job could not start and will be retried",
	-4:  "JOB_EXEC_INITABT: the job was aborted when the MoM initialised",
	-5:  "JOB_EXEC_INITRST: the job was aborted when the MoM initialised (checkpointed)",
	-6:  "JOB_EXEC_INITRMG: the job was aborted when the MoM initialised (migratable)",
	-7:  "JOB_EXEC_BADRESRT: the job's restart failed",
	-10: "JOB_EXEC_FAILUID: invalid user or group for the job",
	-11: "JOB_EXEC_RERUN: the job was rerun",
	-12: "JOB_EXEC_CHKP: the job was checkpointed and killed",
	-13: "JOB_EXEC_FAIL_PASSWORD: the job failed because of a bad password",
	-15: "JOB_EXEC_QUERST: the job was requeued",
	-20: "JOB_EXEC_RERUN_MS_FAIL: the job's mother superior failed",
	-24: "JOB_EXEC_KILL_NCPUS_BURST: killed for exceeding ncpus (burst)",
	-25: "JOB_EXEC_KILL_NCPUS_SUM: killed for exceeding ncpus (sum)",
	-26: "JOB_EXEC_KILL_VMEM: killed for exceeding vmem",
	-27: "JOB_EXEC_KILL_MEM: killed for exceeding mem",
	-28: "JOB_EXEC_KILL_CPUT: killed for exceeding cput",
	-29: "JOB_EXEC_KILL_WALLTIME: killed for exceeding walltime",
}

// walltimeKilledMarker is what the MoM writes to a job's stderr when it
// kills the job at its walltime ("=>> PBS: job killed: walltime 65
// exceeded limit 60").
const walltimeKilledMarker = "PBS: job killed: walltime"

// jobStatus maps one job of qstat's output onto a provider.JobStatus.
// cancelled tells whether this provider ran qdel on it, because a
// cancelled job's script may exit with any status (the launcher exits 143
// on SIGTERM), and stderrTail returns the end of the job's stderr file
// for a finished job's message (it may return "").
func jobStatus(id provider.JobID, j qstatJob, cancelled bool, stderrTail func() string) provider.JobStatus {
	st := provider.JobStatus{ID: id, Message: j.Comment}
	switch j.State {
	case "Q":
		st.State = provider.JobPending
	case "T":
		st.State = provider.JobPending
		st.Message = joinMessage("being moved to a new location", j.Comment)
	case "W":
		st.State = provider.JobPending
		st.Message = joinMessage("waiting for its requested start time", j.Comment)
	case "M":
		// The job moved to another server; it is alive there, but this
		// server will not report it further.
		st.State = provider.JobPending
		st.Message = joinMessage("moved to another server", j.Comment)
	case "H":
		st.State = provider.JobHeld
	case "S":
		st.State = provider.JobHeld
		st.Message = joinMessage("suspended", j.Comment)
	case "U":
		st.State = provider.JobHeld
		st.Message = joinMessage("suspended because its workstation is busy", j.Comment)
	case "R", "B":
		st.State = provider.JobRunning
	case "E":
		// Exiting: the script has ended and the MoM is staging files out;
		// F (with Exit_status) follows.
		st.State = provider.JobRunning
		st.Message = joinMessage("exiting", j.Comment)
	case "F", "X":
		finishedStatus(&st, j, cancelled, stderrTail)
	default:
		st.State = provider.JobUnknown
		st.Message = joinMessage(fmt.Sprintf("PBS job state %q is unknown", j.State), j.Comment)
	}
	return st
}

// finishedStatus fills st for a job in state F (finished) or X (a
// finished subjob).
func finishedStatus(st *provider.JobStatus, j qstatJob, cancelled bool, stderrTail func() string) {
	if !j.HasExitStatus {
		// Deleted before it ran: PBS records no exit status.
		if cancelled || strings.Contains(strings.ToLower(j.Comment), "delete") {
			st.State = provider.JobCancelled
		} else {
			st.State = provider.JobFailed
			st.Message = joinMessage("finished without an exit status", j.Comment)
		}
		return
	}
	code := j.ExitStatus
	st.ExitCode = exitCode(code)
	var tail string
	if code != 0 {
		tail = stderrTail()
	}
	switch {
	case code == exitKillWalltime || code != 0 && (j.walltimeExceeded() || strings.Contains(tail, walltimeKilledMarker)):
		st.State = provider.JobTimeout
		st.Message = joinMessage(fmt.Sprintf("walltime %s exceeded", cmpOr(j.Resources.Walltime, "limit")), j.Comment)
		return
	case cancelled || code == exitKilledByTERM || code == exitKilledByKILL:
		st.State = provider.JobCancelled
		st.Message = joinMessage(fmt.Sprintf("deleted (Exit_status %d)", code), j.Comment)
		return
	case code == 0:
		st.State = provider.JobCompleted
		return
	}
	st.State = provider.JobFailed
	msg := fmt.Sprintf("Exit_status %d", code)
	switch {
	case code < 0 && jobExecCodes[code] != "":
		msg += " (" + jobExecCodes[code] + ")"
	case code > exitSignalBase:
		msg += fmt.Sprintf(" (killed by signal %d)", code-exitSignalBase)
	}
	msg = joinMessage(msg, j.Comment)
	st.Message = joinMessage(msg, tail)
}

// exitCode turns PBS's Exit_status into the provider's convention: 128+N
// for a job killed by signal N; PBS's own negative codes are kept.
func exitCode(status int) int {
	if status > exitSignalBase && status < exitSignalBase+128 {
		return 128 + status - exitSignalBase
	}
	return status
}

func joinMessage(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
