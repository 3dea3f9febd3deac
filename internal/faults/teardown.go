package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// orphanGrace is how long processes get to go after the stops before
// they count as orphans.
const orphanGrace = 15 * time.Second

// teardown stops everything the run started, the graceful way an
// operator would (funcx-endpoint stop and delete, SIGTERM to the
// service), counts what outlived that as orphans, then removes those by
// force: processes with SIGKILL, RabbitMQ leftovers through the
// management API, the run's directory.
func (r *run) teardown(row *Row) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var errs []error
	if r.rabbitDown {
		errs = append(errs, rabbitmqctl(ctx, "start_app"), rabbitmqctl(ctx, "await_startup"))
		r.rabbitDown = false
	}
	if r.stopGuard != nil {
		r.stopGuard()
	}
	if r.cl != nil {
		errs = append(errs, r.cl.Close())
	}
	// Deleting the endpoints needs the service.
	if r.svc != nil && r.svc.addr != "" && !r.svc.running() && len(r.eps) > 0 {
		row.note("funcx-service was down at the end: started again to delete the endpoints")
		errs = append(errs, r.svc.start(ctx))
	}
	for _, ep := range r.eps {
		errs = append(errs, ep.stop(ctx))
	}
	if r.ranLog != "" {
		if f, err := os.Open(r.ranLog); err == nil {
			row.RanTwice, err = countRuns(f, r.cfg.Tasks)
			f.Close()
			errs = append(errs, err)
		}
	}
	var epIDs, runIDs []string
	for _, ep := range r.eps {
		keep := ""
		if r.cfg.KeepDir != "" {
			keep = filepath.Join(r.dir, "endpoint-"+ep.name+".log")
		}
		errs = append(errs, ep.remove(ctx, keep))
		epIDs = append(epIDs, ep.id)
		runIDs = append(runIDs, ep.runIDs...)
	}
	if r.svc != nil {
		errs = append(errs, r.svc.stop())
	}

	// Orphans: what outlived the stops.
	var left []int
	if r.marker != "" {
		for deadline := time.Now().Add(orphanGrace); ; time.Sleep(100 * time.Millisecond) {
			if left = runProcs(r.marker, runIDs); len(left) == 0 || time.Now().After(deadline) {
				break
			}
		}
	}
	row.Orphans.Processes = describeProcs(left)
	killAll(left)
	if r.mgmt != nil && len(epIDs) > 0 {
		l, err := r.mgmt.leftovers(ctx, epIDs)
		errs = append(errs, err)
		row.Orphans.VHosts, row.Orphans.Queues = names(l.vhosts), names(l.queues)
		row.Orphans.Exchanges, row.Orphans.Users = names(l.exchanges), names(l.users)
		errs = append(errs, r.mgmt.removeAll(ctx, l))
	}
	if r.tmp != "" {
		entries, err := os.ReadDir(r.tmp)
		errs = append(errs, err)
		for _, e := range entries {
			row.Orphans.TmpFiles = append(row.Orphans.TmpFiles, filepath.Join(r.tmp, e.Name()))
		}
	}
	if row.Orphans.Count() > 0 {
		row.note("orphans after stop: %+v", row.Orphans)
	}
	if r.hc != nil {
		r.hc.CloseIdleConnections()
	}
	if r.dir != "" && r.cfg.KeepDir == "" {
		errs = append(errs, os.RemoveAll(r.dir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop %s run: %w", r.fault, err)
	}
	return nil
}
