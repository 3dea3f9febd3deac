package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/provider"
)

// CleanupTimeout bounds Cleanup.
const CleanupTimeout = 2 * time.Minute

// CleanupReport says what Cleanup found and did.
type CleanupReport struct {
	profile.CleanupReport
	// RemovedContainers is how many Docker containers of the dead run
	// were removed.
	RemovedContainers int
	// ContainersErr is why the dead run's containers could not be
	// removed. It is reported, not returned: run.json is gone by then,
	// and the next manager on this host sweeps them.
	ContainersErr error
	// ConfigErr is why config.toml could not be loaded, when Stop cleans
	// up: local processes are cleaned up all the same, batch jobs are not
	// cancelled.
	ConfigErr error
}

// Cleanup cleans up after a daemon of profile p that died without
// stopping (a Disconnected profile; others are left alone): it stops the
// processes of its run, cancels its blocks with the provider of cfg,
// removes run.json and the stale daemon.pid (profile.Profile.Cleanup),
// then removes the run's Docker containers, which no manager is left to
// remove. It takes at most CleanupTimeout.
func Cleanup(ctx context.Context, p *profile.Profile, cfg endpoint.Config) (CleanupReport, error) {
	ctx, cancel := context.WithTimeout(ctx, CleanupTimeout)
	defer cancel()
	var rep CleanupReport
	var err error
	rep.CleanupReport, err = p.Cleanup(ctx, func(ctx context.Context, _ string, ids []string) error {
		jobs := make([]provider.JobID, len(ids))
		for i, id := range ids {
			jobs[i] = provider.JobID(id)
		}
		return endpoint.CancelLeftoverBlocks(ctx, cfg, jobs)
	})
	if err != nil {
		return rep, err
	}
	// After its processes are stopped: no manager of the run is left.
	rep.RemovedContainers, rep.ContainersErr = endpoint.RemoveLeftoverContainers(ctx, cfg, rep.RunID)
	return rep, nil
}

// Summary says what a clean-up of the endpoint named name did, in one
// sentence; it is empty when there was nothing to clean up.
func (r *CleanupReport) Summary(name string) string {
	if !r.Stale {
		return ""
	}
	msg := fmt.Sprintf("Endpoint %s was not stopped cleanly: cleaned up", name)
	if n := len(r.Killed); n > 0 {
		msg += fmt.Sprintf(", stopped %d leftover %s of run %s", n, plural(n, "process", "processes"), r.RunID)
	}
	if n := r.RemovedContainers; n > 0 {
		msg += fmt.Sprintf(", removed %d leftover %s of run %s", n, plural(n, "container", "containers"), r.RunID)
	}
	if len(r.Cancelled) > 0 {
		msg += fmt.Sprintf(", cancelled blocks %s", strings.Join(r.Cancelled, ", "))
	}
	return msg + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
