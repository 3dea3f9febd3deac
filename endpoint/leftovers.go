package endpoint

import (
	"context"
	"errors"

	"github.com/funcx-go/funcx/provider"
)

// CancelLeftoverBlocks cancels, by job ID, blocks that an earlier run of
// an endpoint with configuration cfg submitted and could not cancel
// because it died (kill -9, a crash, a reboot of the login node). Batch
// jobs and pods outlive the endpoint process, so only their scheduler can
// end them. Blocks of the local provider are process groups, found and
// stopped by their FUNCX_RUN_ID instead; for it this does nothing.
func CancelLeftoverBlocks(ctx context.Context, cfg Config, jobIDs []provider.JobID) error {
	cfg = cfg.WithDefaults()
	if len(jobIDs) == 0 || cfg.Provider.Type == "local" {
		return nil
	}
	prov, err := cfg.newProvider()
	if err != nil {
		return err
	}
	return errors.Join(prov.Cancel(ctx, jobIDs), provider.Shutdown(ctx, prov))
}

// RemoveLeftoverContainers removes the Docker containers of run runID, an
// earlier run of an endpoint with configuration cfg that died without
// stopping, and returns how many it removed. A run that stops removes its
// containers itself (Engine.Stop), and a manager that loses its endpoint
// removes those it started; but when the managers die with the endpoint
// (kill -9 of them all, the OOM killer, a reboot), their containers stay,
// some still running, and only a manager that later starts on the same
// host would sweep them. The processes of the run must have been stopped
// first. Only the endpoint host's Docker daemon is asked: containers on
// batch nodes are left to the next manager there. Other worker modes have
// nothing to remove.
func RemoveLeftoverContainers(ctx context.Context, cfg Config, runID string) (int, error) {
	return removeRun(ctx, cfg.WithDefaults().WorkerMode, runID)
}
