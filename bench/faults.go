package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/funcx-go/funcx/internal/faults"
)

// faultsPhase runs the fault matrix (internal/faults): one run per fault,
// each with its own service, two endpoints and N tasks. It fails when a
// row breaks the promise (a task lost or answered twice, an orphan), after
// every row has run.
func (h *harness) faultsPhase(ctx context.Context) (err error) {
	o := h.o
	list, err := faults.ParseFaults(o.Faults)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "funcx-bench-faults-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	h.progress("faults: building funcx-service and funcx-endpoint")
	bins, err := faults.Build(ctx, dir)
	if err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	h.rep.FaultConfig = faults.Config{
		Binaries: bins, Tasks: o.FaultTasks, StrikeAt: o.FaultStrike, StallTimeout: o.FaultStall,
		AMQPURL: o.amqpURL(), KeepDir: o.FaultKeep, Prefetch: o.Prefetch,
		Logger: slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelInfo})).With("phase", "faults"),
	}
	var broken []error
	for _, f := range list {
		h.progress("faults: %s, %d tasks", f.Describe(), o.FaultTasks)
		row, err := faults.Run(ctx, h.rep.FaultConfig, f)
		h.rep.Faults = append(h.rep.Faults, row)
		if err != nil {
			return fmt.Errorf("faults, %s: %w", f, err)
		}
		if err := row.Check(); err != nil {
			broken = append(broken, err)
		}
		h.progress("faults: %s: %d/%d results, %d lost, %d duplicate, orphans %s, %.0f s",
			f, row.Results, row.Tasks, row.Lost, row.DuplicateResults, row.Orphans, row.Seconds)
	}
	if len(broken) > 0 {
		return fmt.Errorf("the fault matrix shows broken promises:\n%w", errors.Join(broken...))
	}
	return nil
}
