package funcx

import "time"

// RawContainer is the container type of tasks that run in plain worker
// processes: the empty string, shown as "RAW".
const RawContainer = ""

// Task is one invocation of a function.
type Task struct {
	ID       TaskID
	Function Function
	// Args is the JSON-encoded argument: any JSON value for a Go function,
	// a JSON object whose values are substituted into a shell function.
	Args []byte
	// Stdin is given to a shell function on its standard input.
	Stdin []byte
	// Container is the container type (image) the task must run in;
	// RawContainer for plain worker processes.
	Container string
	// Resources is what one run of the task needs from its worker.
	Resources ResourceSpec
	// Attempt counts earlier attempts lost to system failures (a lost
	// manager); the interchange increments it on retry.
	Attempt int
	// Received is when the endpoint took the task.
	Received time.Time
}

// ResourceSpec is what a task asks of its worker. Zero fields ask nothing.
type ResourceSpec struct {
	Cores       int
	MemoryBytes int64
	GPUs        int
}

// ContainerName returns the task's container type for display: "RAW" for
// plain worker processes.
func (t *Task) ContainerName() string { return ContainerDisplayName(t.Container) }

// ContainerDisplayName shows the empty container type as "RAW", the name
// funcX users know.
func ContainerDisplayName(c string) string {
	if c == RawContainer {
		return "RAW"
	}
	return c
}
