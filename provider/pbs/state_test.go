package pbs_test

import (
	"strings"
	"testing"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/pbs"
)

func exited(code int) pbs.QstatJob {
	j := pbs.QstatJob{State: "F", ExitStatus: code, HasExitStatus: true}
	return j
}

func TestStateMapping(t *testing.T) {
	t.Parallel()
	withComment := func(j pbs.QstatJob, c string) pbs.QstatJob { j.Comment = c; return j }
	usedAll := exited(271)
	usedAll.Resources.Walltime, usedAll.Used.Walltime = "00:10:00", "00:10:01"
	usedAllOK := exited(0)
	usedAllOK.Resources.Walltime, usedAllOK.Used.Walltime = "00:10:00", "00:10:00"
	for _, c := range []struct {
		name      string
		job       pbs.QstatJob
		cancelled bool
		tail      string
		state     provider.JobState
		exit      int
		msg       string // contained in the message
	}{
		{name: "B array begun", job: pbs.QstatJob{State: "B"}, state: provider.JobRunning},
		{name: "E exiting", job: pbs.QstatJob{State: "E"}, state: provider.JobRunning, msg: "exiting"},
		{name: "H held", job: withComment(pbs.QstatJob{State: "H"}, "job held by user"), state: provider.JobHeld, msg: "held by user"},
		{name: "M moved", job: pbs.QstatJob{State: "M"}, state: provider.JobPending, msg: "moved"},
		{name: "Q queued", job: withComment(pbs.QstatJob{State: "Q"}, "Not Running: Insufficient amount of resource: ncpus"), state: provider.JobPending, msg: "Insufficient"},
		{name: "R running", job: pbs.QstatJob{State: "R"}, state: provider.JobRunning},
		{name: "S suspended", job: pbs.QstatJob{State: "S"}, state: provider.JobHeld, msg: "suspended"},
		{name: "T transit", job: pbs.QstatJob{State: "T"}, state: provider.JobPending, msg: "moved"},
		{name: "U user busy", job: pbs.QstatJob{State: "U"}, state: provider.JobHeld, msg: "busy"},
		{name: "W waiting", job: pbs.QstatJob{State: "W"}, state: provider.JobPending, msg: "start time"},
		{name: "unknown letter", job: pbs.QstatJob{State: "Z"}, state: provider.JobUnknown, msg: `"Z"`},
		{name: "F exit 0", job: exited(0), state: provider.JobCompleted},
		{name: "X subjob exit 0", job: pbs.QstatJob{State: "X", HasExitStatus: true}, state: provider.JobCompleted},
		{name: "F exit 3 with stderr", job: exited(3), tail: "Traceback: boom", state: provider.JobFailed, exit: 3, msg: "Exit_status 3: Traceback: boom"},
		{name: "F killed by walltime (-29)", job: exited(-29), state: provider.JobTimeout, exit: -29, msg: "walltime"},
		{name: "F walltime used up, signal", job: usedAll, state: provider.JobTimeout, exit: 143, msg: "00:10:00"},
		{name: "F walltime used up but exit 0", job: usedAllOK, state: provider.JobCompleted},
		{name: "F walltime line in stderr", job: exited(265), tail: "=>> PBS: job killed: walltime 65 exceeded limit 60", state: provider.JobTimeout, exit: 137},
		{name: "F qdel SIGTERM (271)", job: exited(271), state: provider.JobCancelled, exit: 143},
		{name: "F qdel SIGKILL (265)", job: exited(265), state: provider.JobCancelled, exit: 137},
		{name: "F after our qdel, script exit 143", job: exited(143), cancelled: true, state: provider.JobCancelled, exit: 143},
		{name: "F killed by another signal", job: exited(256 + 11), state: provider.JobFailed, exit: 139, msg: "killed by signal 11"},
		{name: "F -11 rerun code is a failure", job: exited(-11), state: provider.JobFailed, exit: -11, msg: "JOB_EXEC_RERUN"},
		{name: "F mem limit", job: exited(-27), state: provider.JobFailed, exit: -27, msg: "JOB_EXEC_KILL_MEM"},
		{name: "F exec failed", job: exited(-1), state: provider.JobFailed, exit: -1, msg: "JOB_EXEC_FAIL1"},
		{name: "F deleted while queued", job: withComment(pbs.QstatJob{State: "F"}, "Job deleted from queue"), state: provider.JobCancelled},
		{name: "F no exit status after our qdel", job: pbs.QstatJob{State: "F"}, cancelled: true, state: provider.JobCancelled},
		{name: "F no exit status, not deleted", job: withComment(pbs.QstatJob{State: "F"}, "Job failed to start"), state: provider.JobFailed, msg: "Job failed to start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := pbs.JobStatus("1.s", c.job, c.cancelled, c.tail)
			if st.ID != "1.s" || st.State != c.state || st.ExitCode != c.exit || !strings.Contains(st.Message, c.msg) {
				t.Errorf("got %+v; want state %s, exit %d, message containing %q", st, c.state, c.exit, c.msg)
			}
		})
	}
}
