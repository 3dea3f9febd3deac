package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Runtime names, as worker_mode spells them.
const (
	Docker      = "docker"
	Singularity = "singularity"
	Shifter     = "shifter"
)

// Runtime starts worker containers.
type Runtime interface {
	// Name is the runtime's worker_mode name.
	Name() string
	// Start starts a container running spec.Command in spec.Image and
	// returns once it runs. The error says what to do when the image is
	// missing or the runtime does not answer.
	Start(ctx context.Context, spec Spec) (Instance, error)
}

// Instance is one running container.
type Instance interface {
	// ID names the container (a Docker container ID, or the runtime
	// process's pid).
	ID() string
	// Wait blocks until the container has exited and its resources are
	// released (a Docker container is removed); it returns nil after a
	// clean exit and an *ExitError otherwise. It may be called once.
	Wait() error
	// Kill stops the container at once; Wait then returns. It reports an
	// error when the container may still run (Docker's returns once the
	// daemon says it stopped). It is safe to call more than once and
	// concurrently with Wait.
	Kill() error
}

// Spec is what one worker container runs.
type Spec struct {
	// Image is the container image (a Docker image reference, a
	// Singularity image path or URI, a Shifter image name). Required.
	Image string
	// Name names the container where the runtime supports names (Docker);
	// empty lets the runtime pick.
	Name string
	// Command is the worker's argv inside the container. Required.
	Command []string
	// Env is the worker's environment, "KEY=value" entries.
	Env []string
	// Binds are mounted into the container, each at the same path inside
	// as outside.
	Binds []Bind
	// Labels are Docker labels (ownership, for orphan removal); the
	// other runtimes ignore them.
	Labels map[string]string
	// Output receives the container's stdout and stderr (for exec
	// runtimes as they come; for Docker the last lines after a failed
	// exit). Nil discards them.
	Output io.Writer
}

// Bind is a bind mount.
type Bind struct {
	Host      string
	Container string
	ReadOnly  bool
}

// String formats b as host:container[:ro], the form every runtime takes.
func (b Bind) String() string {
	s := b.Host + ":" + b.Container
	if b.ReadOnly {
		s += ":ro"
	}
	return s
}

// ParseBind reads "host:container[:ro|:rw]" or "path" (the same path
// inside). Both paths must be absolute.
func ParseBind(s string) (Bind, error) {
	parts := strings.Split(s, ":")
	var b Bind
	switch len(parts) {
	case 1:
		b = Bind{Host: parts[0], Container: parts[0]}
	case 2, 3:
		b = Bind{Host: parts[0], Container: parts[1]}
		if len(parts) == 3 {
			switch parts[2] {
			case "ro":
				b.ReadOnly = true
			case "rw":
			default:
				return Bind{}, fmt.Errorf("bind %q: mode %q is not ro or rw", s, parts[2])
			}
		}
	default:
		return Bind{}, fmt.Errorf("bind %q: want host:container[:ro]", s)
	}
	if !strings.HasPrefix(b.Host, "/") || !strings.HasPrefix(b.Container, "/") {
		return Bind{}, fmt.Errorf("bind %q: both paths must be absolute", s)
	}
	return b, nil
}

// ExitError is a container that exited with a non-zero status or was
// killed.
type ExitError struct {
	ID     string
	Code   int
	Signal string // set when the exit status says the worker was killed
	Err    error  // a failure of the runtime itself, if any
}

func (e *ExitError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("container %s: %v", e.ID, e.Err)
	case e.Signal != "":
		return fmt.Sprintf("container %s was killed by signal %s", e.ID, e.Signal)
	}
	return fmt.Sprintf("container %s exited with status %d", e.ID, e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// ErrNoImage is wrapped by Start's error when the image does not exist
// where the runtime looks.
var ErrNoImage = errors.New("container image not found")

// Options are a runtime's settings, from the endpoint's [container] table.
type Options struct {
	// RunOptions are extra options for the runtime: for Docker a subset
	// of `docker run` options (see docker.SupportedRunOptions), for Singularity
	// options of `exec`, for Shifter options of `shifter`.
	RunOptions []string
	// Binds are added to every container.
	Binds []Bind
	// GPUs gives containers the node's GPUs: Docker all GPU devices,
	// Singularity --nv, Shifter --module=gpu.
	GPUs bool
	// Command is the runtime's executable for Singularity and Shifter.
	// Defaults to apptainer or singularity (whichever is on PATH) and to
	// shifter.
	Command string
}
