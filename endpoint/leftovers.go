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
	prov := cfg.Provider.Implementation
	if prov == nil {
		var err error
		if prov, err = newProvider(&cfg); err != nil {
			return err
		}
	}
	return errors.Join(prov.Cancel(ctx, jobIDs), provider.Shutdown(ctx, prov))
}
