package funcx

import "fmt"

// TaskState is where a task is in its life. The order of the constants is
// the order a task passes through them; Success and Failed are terminal.
type TaskState uint8

const (
	StateUnknown TaskState = iota
	// StateReceived: the service has stored the task.
	StateReceived
	// StateWaitingForEndpoint: queued for an endpoint that has not taken it.
	StateWaitingForEndpoint
	// StateWaitingForNodes: the endpoint holds it; no manager has capacity.
	StateWaitingForNodes
	// StateWaitingForLaunch: dispatched to a manager, waiting for a worker.
	StateWaitingForLaunch
	// StateRunning: a worker is running it.
	StateRunning
	// StateSuccess: it finished and its function succeeded.
	StateSuccess
	// StateFailed: it finished with an error (see Result.Error).
	StateFailed
)

var stateNames = [...]string{
	StateUnknown:            "unknown",
	StateReceived:           "received",
	StateWaitingForEndpoint: "waiting-for-ep",
	StateWaitingForNodes:    "waiting-for-nodes",
	StateWaitingForLaunch:   "waiting-for-launch",
	StateRunning:            "running",
	StateSuccess:            "success",
	StateFailed:             "failed",
}

func (s TaskState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("TaskState(%d)", uint8(s))
}

// Terminal reports whether no further state follows s.
func (s TaskState) Terminal() bool { return s == StateSuccess || s == StateFailed }

// ParseTaskState is the inverse of TaskState.String.
func ParseTaskState(s string) (TaskState, error) {
	for i, n := range stateNames {
		if n == s {
			return TaskState(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("task state %q is unknown", s)
}

// MarshalText encodes the state by name, so JSON shows "running".
func (s TaskState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *TaskState) UnmarshalText(b []byte) error {
	v, err := ParseTaskState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
