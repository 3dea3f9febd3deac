package slurm_test

import (
	"testing"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/slurm"
)

// Every state Slurm documents (squeue(1) "JOB STATE CODES"), as squeue
// and sacct print them.
func TestMapState(t *testing.T) {
	for state, want := range map[string]provider.JobState{
		"PENDING":        provider.JobPending,
		"REQUEUED":       provider.JobPending,
		"REQUEUE_FED":    provider.JobPending,
		"CONFIGURING":    provider.JobPending,
		"RUNNING":        provider.JobRunning,
		"COMPLETING":     provider.JobRunning,
		"RESIZING":       provider.JobRunning,
		"SIGNALING":      provider.JobRunning,
		"STAGE_OUT":      provider.JobRunning,
		"SUSPENDED":      provider.JobHeld,
		"STOPPED":        provider.JobHeld,
		"REQUEUE_HOLD":   provider.JobHeld,
		"RESV_DEL_HOLD":  provider.JobHeld,
		"SPECIAL_EXIT":   provider.JobHeld,
		"COMPLETED":      provider.JobCompleted,
		"FAILED":         provider.JobFailed,
		"NODE_FAIL":      provider.JobFailed,
		"BOOT_FAIL":      provider.JobFailed,
		"OUT_OF_MEMORY":  provider.JobFailed,
		"TIMEOUT":        provider.JobTimeout,
		"DEADLINE":       provider.JobTimeout,
		"PREEMPTED":      provider.JobTimeout,
		"CANCELLED":      provider.JobCancelled,
		"CANCELLED by 0": provider.JobCancelled,
		"CANCELLED+":     provider.JobCancelled,
		"cancelled":      provider.JobCancelled,
		" RUNNING ":      provider.JobRunning,
		"REVOKED":        provider.JobUnknown,
		"LAUNCH_FAILED":  provider.JobUnknown,
		"":               provider.JobUnknown,
		"BOGUS":          provider.JobUnknown,
	} {
		if got := slurm.MapState(state); got != want {
			t.Errorf("MapState(%q) = %s, want %s", state, got, want)
		}
	}
}
