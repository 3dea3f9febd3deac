package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/funcx-go/funcx/container"
)

// dockerTimeout bounds Engine API calls that should be quick (create,
// start, kill, remove).
const dockerTimeout = 60 * time.Second

// Runtime starts workers in Docker containers through the Engine API.
// Create it with New; Close releases its connection.
type Runtime struct {
	cli  *client.Client
	opts container.Options
	run  dockerRun

	// negotiated is set once the API version was agreed with the daemon.
	// The client negotiates lazily on the first request and reads its
	// version without a lock, so concurrent first requests race; every
	// entry point calls ready first, which negotiates once, serialized.
	negotiateMu sync.Mutex
	negotiated  bool
}

var (
	_ container.Runtime       = (*Runtime)(nil)
	_ container.Pinger        = (*Runtime)(nil)
	_ container.OrphanRemover = (*Runtime)(nil)
	_ container.RunRemover    = (*Runtime)(nil)
)

// Name is the runtime's worker_mode name.
const Name = container.Docker

func init() { container.Register(Name, driver{}) }

type driver struct{}

func (driver) New(opts container.Options) (container.Runtime, error) { return New(opts) }

// ValidateOptions checks that every run option is understood.
func (driver) ValidateOptions(opts container.Options) error {
	_, err := parseRunOptions(opts.RunOptions)
	return err
}

// New makes a client of the Docker daemon the environment names
// (DOCKER_HOST, default /var/run/docker.sock), negotiating the API
// version, and checks opts.RunOptions. It does not contact the daemon
// yet; Ping does.
func New(opts container.Options) (*Runtime, error) {
	run, err := parseRunOptions(opts.RunOptions)
	if err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Runtime{cli: cli, opts: opts, run: run}, nil
}

// Name implements Runtime.
func (d *Runtime) Name() string { return Name }

// Close releases the client's connections.
func (d *Runtime) Close() error { return d.cli.Close() }

// Ping checks that the daemon answers, with an error that says what to do.
func (d *Runtime) Ping(ctx context.Context) error {
	d.negotiateMu.Lock()
	defer d.negotiateMu.Unlock()
	ping, err := d.cli.Ping(ctx)
	if err != nil {
		return fmt.Errorf("docker daemon at %s does not answer (is dockerd running? scripts/start-services.sh starts one): %w", d.cli.DaemonHost(), err)
	}
	if !d.negotiated {
		d.cli.NegotiateAPIVersionPing(ping)
		d.negotiated = true
	}
	return nil
}

// ready negotiates the API version on the first call (see negotiated).
func (d *Runtime) ready(ctx context.Context) error {
	d.negotiateMu.Lock()
	done := d.negotiated
	d.negotiateMu.Unlock()
	if done {
		return nil
	}
	return d.Ping(ctx)
}

// Start implements Runtime: create, then start the container.
func (d *Runtime) Start(ctx context.Context, spec container.Spec) (container.Instance, error) {
	if spec.Image == "" || len(spec.Command) == 0 {
		return nil, errors.New("docker: start: spec needs an image and a command")
	}
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	if err := d.ready(ctx); err != nil {
		return nil, err
	}
	cfg := &dcontainer.Config{
		Image:      spec.Image,
		Cmd:        spec.Command,
		Entrypoint: []string{}, // the image's entrypoint must not wrap the worker
		Env:        append(append([]string(nil), d.run.env...), spec.Env...),
		Labels:     spec.Labels,
		User:       d.run.user,
		WorkingDir: d.run.dir,
	}
	host := d.run.host // a copy; slices below are rebuilt, not appended in place
	host.Binds = nil
	for _, b := range append(append([]container.Bind(nil), d.opts.Binds...), spec.Binds...) {
		host.Binds = append(host.Binds, b.String())
	}
	host.CapAdd = append([]string(nil), d.run.host.CapAdd...)
	if d.opts.GPUs {
		host.DeviceRequests = []dcontainer.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}
	}
	created, err := d.cli.ContainerCreate(ctx, cfg, &host, nil, nil, spec.Name)
	if err != nil {
		if client.IsErrNotFound(err) {
			return nil, fmt.Errorf("docker: image %q: %w on this node; build it or `docker load` it (funcx does not pull): %v", spec.Image, container.ErrNoImage, err)
		}
		return nil, fmt.Errorf("docker: create a container of %s: %w", spec.Image, err)
	}
	inst := &dockerInstance{d: d, id: created.ID, output: spec.Output}
	if err := d.cli.ContainerStart(ctx, created.ID, dcontainer.StartOptions{}); err != nil {
		d.remove(created.ID)
		return nil, fmt.Errorf("docker: start container %.12s of %s: %w", created.ID, spec.Image, err)
	}
	return inst, nil
}

// remove force-removes a container, waiting at most dockerTimeout.
func (d *Runtime) remove(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	err := d.cli.ContainerRemove(ctx, id, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && cerrdefs.IsConflict(err) {
		// Someone else is removing it already: the container's own
		// manager stopping while the endpoint sweeps its run, or
		// AutoRemove. Their removal is ours once it is finished.
		err = d.waitGone(ctx, id)
	}
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("docker: remove container %.12s: %w", id, err)
	}
	return nil
}

// waitGone waits until container id no longer exists; it returns the
// inspect error that says so (not found), or ctx's error.
func (d *Runtime) waitGone(ctx context.Context, id string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := d.cli.ContainerInspect(ctx, id); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("another removal did not finish: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

type dockerInstance struct {
	d      *Runtime
	id     string
	output io.Writer
	once   sync.Once
}

func (i *dockerInstance) ID() string { return i.id[:min(12, len(i.id))] }

// Wait implements Instance: wait for the exit, show the last lines of a
// failed container's output, remove it.
func (i *dockerInstance) Wait() error {
	var exit error
	waitC, errC := i.d.cli.ContainerWait(context.Background(), i.id, dcontainer.WaitConditionNotRunning)
	select {
	case res := <-waitC:
		if res.Error != nil {
			exit = &container.ExitError{ID: i.ID(), Code: int(res.StatusCode), Err: errors.New(res.Error.Message)}
		} else if res.StatusCode != 0 {
			exit = &container.ExitError{ID: i.ID(), Code: int(res.StatusCode)}
			if res.StatusCode == 137 {
				exit.(*container.ExitError).Signal = "SIGKILL"
			}
		}
	case err := <-errC:
		exit = &container.ExitError{ID: i.ID(), Code: -1, Err: err}
	}
	if exit != nil && i.output != nil {
		i.copyLogs()
	}
	if err := i.d.remove(i.id); err != nil && exit == nil {
		exit = &container.ExitError{ID: i.ID(), Code: 0, Err: err}
	}
	return exit
}

func (i *dockerInstance) copyLogs() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := i.d.cli.ContainerLogs(ctx, i.id, dcontainer.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "50"})
	if err != nil {
		return
	}
	defer rc.Close()
	fmt.Fprintf(i.output, "--- last lines of container %s\n", i.ID())
	_, _ = stdcopy.StdCopy(i.output, i.output, rc)
}

// Kill implements Instance: it returns once the container has stopped
// or is gone, or with an error that says it still runs. The daemon's
// answer alone does not tell: a kill it answered with an error (say, the
// process did not exit in time, or no answer came) may have left the
// container running, and one that failed because the container had just
// stopped is a success.
func (i *dockerInstance) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	killErr := i.d.cli.ContainerKill(ctx, i.id, "KILL")
	cancel()
	if killErr != nil && client.IsErrNotFound(killErr) {
		return nil // Wait removed it already
	}
	// A context of its own: the kill's may have run out.
	ctx, cancel = context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	for {
		running, err := i.d.running(ctx, i.id)
		switch {
		case err != nil:
			return fmt.Errorf("docker: kill container %s: cannot tell whether it stopped: %w", i.ID(), errors.Join(killErr, err))
		case !running:
			return nil
		case killErr != nil:
			return fmt.Errorf("docker: kill container %s: it is still running (see `docker inspect %s`; `docker rm -f` it): %w", i.ID(), i.ID(), killErr)
		}
		// The daemon accepted the kill: the stop is on its way.
		select {
		case <-ctx.Done():
			return fmt.Errorf("docker: kill container %s: still running %s after the daemon accepted the kill (`docker rm -f` it)", i.ID(), dockerTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// running reports whether container id runs (paused counts as running);
// one that no longer exists does not.
func (d *Runtime) running(ctx context.Context, id string) (bool, error) {
	c, err := d.cli.ContainerInspect(ctx, id)
	if client.IsErrNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return c.State != nil && (c.State.Running || c.State.Restarting), nil
}

// WrapTransport routes the runtime's requests to the daemon through wrap
// (instrumentation, or a test that makes the daemon answer as a sick one
// does). Call it before the runtime is used; it replaces the client.
func (d *Runtime) WrapTransport(wrap func(http.RoundTripper) http.RoundTripper) error {
	hc := d.cli.HTTPClient()
	hc.Transport = wrap(hc.Transport)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation(), client.WithHTTPClient(hc))
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	_ = d.cli.Close()
	d.cli = cli
	return nil
}
