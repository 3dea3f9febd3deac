package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// RemoveRun removes every container of the endpoint run runID, running or
// not: the engine's last sweep when it stops, so that a manager that was
// killed cannot leave containers behind. It returns how many it removed.
func (d *DockerRuntime) RemoveRun(ctx context.Context, runID string) (int, error) {
	if runID == "" {
		return 0, errors.New("docker: RemoveRun needs a run ID")
	}
	return d.removeWhere(ctx, filters.NewArgs(
		filters.Arg("label", LabelManaged+"=true"),
		filters.Arg("label", LabelRun+"="+runID),
	), func(map[string]string) bool { return true })
}

// RemoveOrphans removes the funcx containers on this host whose manager
// process is gone (of any run): a manager calls it when it starts, so
// that containers left by a manager that was killed do not pile up.
func (d *DockerRuntime) RemoveOrphans(ctx context.Context) (int, error) {
	host, _ := os.Hostname()
	return d.removeWhere(ctx, filters.NewArgs(
		filters.Arg("label", LabelManaged+"=true"),
		filters.Arg("label", LabelHost+"="+host),
	), func(labels map[string]string) bool { return !managerAlive(labels) })
}

// ListRun returns the IDs of the containers of run runID, running or not.
func (d *DockerRuntime) ListRun(ctx context.Context, runID string) ([]string, error) {
	if err := d.ready(ctx); err != nil {
		return nil, err
	}
	list, err := d.cli.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelManaged+"=true"),
		filters.Arg("label", LabelRun+"="+runID),
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

func (d *DockerRuntime) removeWhere(ctx context.Context, f filters.Args, orphan func(map[string]string) bool) (int, error) {
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

// managerAlive reports whether the manager process named by a container's
// labels still runs on this host: the same pid with the same start time.
func managerAlive(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[LabelManagerPID])
	if err != nil || pid <= 0 {
		return false
	}
	start, ok := processStart(pid)
	if !ok {
		return false
	}
	want, err := strconv.ParseUint(labels[LabelManagerStart], 10, 64)
	return err != nil || want == start // no start label: trust the pid
}

// ProcessStart reads a process's start time (clock ticks since boot) from
// /proc/<pid>/stat; ok is false if the process is gone. A pid with the
// start time it had is the same process: pids are reused, start times
// are not.
func ProcessStart(pid int) (uint64, bool) { return processStart(pid) }

func processStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // field 3 (state) is f[0]; starttime is field 22
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}
