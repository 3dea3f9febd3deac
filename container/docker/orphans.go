package docker

import (
	"context"
	"errors"
	"fmt"
	"os"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/funcx-go/funcx/container"
)

// RemoveRun removes every container of the endpoint run runID, running or
// not: the engine's last sweep when it stops, so that a manager that was
// killed cannot leave containers behind. It returns how many it removed.
func (d *Runtime) RemoveRun(ctx context.Context, runID string) (int, error) {
	if runID == "" {
		return 0, errors.New("docker: RemoveRun needs a run ID")
	}
	return d.removeWhere(ctx, filters.NewArgs(
		filters.Arg("label", container.LabelManaged+"=true"),
		filters.Arg("label", container.LabelRun+"="+runID),
	), func(map[string]string) bool { return true })
}

// RemoveOrphans removes the funcx containers on this host whose manager
// process is gone (of any run): a manager calls it when it starts, so
// that containers left by a manager that was killed do not pile up.
func (d *Runtime) RemoveOrphans(ctx context.Context) (int, error) {
	host, _ := os.Hostname()
	return d.removeWhere(ctx, filters.NewArgs(
		filters.Arg("label", container.LabelManaged+"=true"),
		filters.Arg("label", container.LabelHost+"="+host),
	), func(labels map[string]string) bool { return !container.ManagerAlive(labels) })
}

// ListRun returns the IDs of the containers of run runID, running or not.
func (d *Runtime) ListRun(ctx context.Context, runID string) ([]string, error) {
	if err := d.ready(ctx); err != nil {
		return nil, err
	}
	list, err := d.cli.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", container.LabelManaged+"=true"),
		filters.Arg("label", container.LabelRun+"="+runID),
	)})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers of run %s: %w", runID, err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids, nil
}

func (d *Runtime) removeWhere(ctx context.Context, f filters.Args, orphan func(map[string]string) bool) (int, error) {
	if err := d.ready(ctx); err != nil {
		return 0, err
	}
	list, err := d.cli.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("docker: list funcx containers: %w", err)
	}
	n := 0
	var errs []error
	for _, c := range list {
		if !orphan(c.Labels) {
			continue
		}
		if err := d.remove(c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
