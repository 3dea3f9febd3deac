package provider

import "fmt"

// JobState is where a block's job is in its life, in the common
// vocabulary every provider maps its scheduler's states onto.
type JobState uint8

const (
	// JobUnknown: the scheduler gave a state we do not recognise, or has
	// not been asked yet. Not terminal: the next poll may tell.
	JobUnknown JobState = iota
	// JobPending: queued, not yet started (Slurm PENDING, PBS Q, pod
	// Pending).
	JobPending
	// JobRunning: started; its managers may or may not have connected.
	JobRunning
	// JobCancelled: ended because someone cancelled it.
	JobCancelled
	// JobCompleted: ended by itself with exit status 0.
	JobCompleted
	// JobFailed: ended with a non-zero exit status, or could not start.
	JobFailed
	// JobTimeout: ended because it reached its walltime. Never reported
	// as JobFailed: reaching walltime is an expected end.
	JobTimeout
	// JobHeld: held by the user or the scheduler; it will not start until
	// released.
	JobHeld
	// JobMissing: the scheduler has no record of the job — it was never
	// ours, or it ended and was forgotten before we saw how. Terminal.
	JobMissing
	// JobScaledIn: cancelled by the scaler because it was no longer
	// needed. Set by BlockManager, never by a scheduler.
	JobScaledIn
)

var jobStateNames = [...]string{
	JobUnknown:   "unknown",
	JobPending:   "pending",
	JobRunning:   "running",
	JobCancelled: "cancelled",
	JobCompleted: "completed",
	JobFailed:    "failed",
	JobTimeout:   "timeout",
	JobHeld:      "held",
	JobMissing:   "missing",
	JobScaledIn:  "scaled-in",
}

func (s JobState) String() string {
	if int(s) < len(jobStateNames) {
		return jobStateNames[s]
	}
	return fmt.Sprintf("JobState(%d)", uint8(s))
}

// Terminal reports whether the job has ended and no other state follows.
func (s JobState) Terminal() bool {
	switch s {
	case JobCancelled, JobCompleted, JobFailed, JobTimeout, JobMissing, JobScaledIn:
		return true
	}
	return false
}

// ParseJobState is the inverse of JobState.String.
func ParseJobState(s string) (JobState, error) {
	for i, n := range jobStateNames {
		if n == s {
			return JobState(i), nil
		}
	}
	return JobUnknown, fmt.Errorf("job state %q is unknown", s)
}

// MarshalText encodes the state by name, so JSON shows "running".
func (s JobState) MarshalText() ([]byte, error) {
	if int(s) >= len(jobStateNames) {
		return nil, fmt.Errorf("marshal job state: %d is out of range", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state name.
func (s *JobState) UnmarshalText(b []byte) error {
	v, err := ParseJobState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
