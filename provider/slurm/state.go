package slurm

import (
	"strings"

	"github.com/funcx-go/funcx/provider"
)

// MapState maps a Slurm job state, as squeue or sacct print it, onto a
// provider.JobState. Only the first word counts ("CANCELLED by 0" is
// CANCELLED) and a trailing '+' (sacct's mark of a truncated column) is
// ignored; case does not matter.
//
//	PENDING, REQUEUED, REQUEUE_FED, CONFIGURING        pending
//	RUNNING, COMPLETING, RESIZING, SIGNALING, STAGE_OUT running
//	SUSPENDED, STOPPED, REQUEUE_HOLD, RESV_DEL_HOLD,
//	SPECIAL_EXIT                                       held
//	COMPLETED                                          completed
//	FAILED, NODE_FAIL, BOOT_FAIL, OUT_OF_MEMORY        failed
//	TIMEOUT, DEADLINE, PREEMPTED                       timeout
//	CANCELLED                                          cancelled
//	anything else                                      unknown
//
// PREEMPTED and DEADLINE count as timeout: the job was ended by the
// scheduler's clock, not by a fault of its own. A PENDING job whose
// reason says it is held is reported held by the provider (see
// mapStateReason), which MapState alone cannot tell.
func MapState(state string) provider.JobState {
	word, _, _ := strings.Cut(strings.TrimSpace(state), " ")
	switch strings.ToUpper(strings.TrimRight(word, "+")) {
	case "PENDING", "REQUEUED", "REQUEUE_FED", "CONFIGURING":
		return provider.JobPending
	case "RUNNING", "COMPLETING", "RESIZING", "SIGNALING", "STAGE_OUT":
		return provider.JobRunning
	case "SUSPENDED", "STOPPED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT":
		return provider.JobHeld
	case "COMPLETED":
		return provider.JobCompleted
	case "FAILED", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY":
		return provider.JobFailed
	case "TIMEOUT", "DEADLINE", "PREEMPTED":
		return provider.JobTimeout
	case "CANCELLED":
		return provider.JobCancelled
	}
	return provider.JobUnknown
}

// heldReasons are the reasons of a PENDING job that will not start until
// someone releases it (scontrol hold, an admin hold).
var heldReasons = map[string]bool{"JobHeldUser": true, "JobHeldAdmin": true}

// mapStateReason is MapState, plus: a PENDING job held by a user or an
// admin is held.
func mapStateReason(state, reason string) provider.JobState {
	s := MapState(state)
	if s == provider.JobPending && heldReasons[strings.TrimSpace(reason)] {
		return provider.JobHeld
	}
	return s
}
