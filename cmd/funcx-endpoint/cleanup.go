package main

import (
	"fmt"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/endpoint/daemon"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// reportCleanup says what a clean-up after an unclean stop did (rep nil:
// none was done) and returns its error.
func (e *env) reportCleanup(p *profile.Profile, rep *daemon.CleanupReport, err error) error {
	if rep == nil {
		return err
	}
	if rep.ConfigErr != nil {
		fmt.Fprintf(e.Sys.Stderr, "funcx-endpoint: %v\n", rep.ConfigErr)
	}
	if err != nil {
		return err
	}
	if rep.ContainersErr != nil {
		fmt.Fprintf(e.Sys.Stderr, "funcx-endpoint: could not remove the containers of run %s, which the endpoint left when it died: %v; "+
			"remove them with: docker rm -f $(docker ps -aq --filter label=%s=%s)\n", rep.RunID, rep.ContainersErr, container.LabelRun, rep.RunID)
	}
	if s := rep.Summary(p.Name); s != "" {
		fmt.Fprintln(e.Sys.Stderr, s)
	}
	return nil
}
