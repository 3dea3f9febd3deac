package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcx-go/funcx"
)

// shellCommand is the command of the shell measurement: one that does
// nothing, so that what is measured is the cost of running a command at
// all, by the worker or by os/exec.
const shellCommand = "true"

// rawExecRound runs the command n times from p goroutines with os/exec,
// the baseline of a shell task at parallelism p. With capture, stdout and
// stderr go to buffers, which makes os/exec create a pipe per stream and
// a goroutine copying each, as the worker's own capture does; without, it
// starts the command with both streams on /dev/null.
func rawExecRound(ctx context.Context, p, n int, capture bool) (float64, error) {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		runErr  error
	)
	start := time.Now()
	for range p {
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			for next.Add(1) <= int64(n) {
				if ctx.Err() != nil {
					errOnce.Do(func() { runErr = ctx.Err() })
					return
				}
				cmd := exec.Command(shellCommand)
				if capture {
					stdout.Reset()
					stderr.Reset()
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
				}
				if err := cmd.Run(); err != nil {
					errOnce.Do(func() { runErr = fmt.Errorf("raw exec of %s: %w", shellCommand, err) })
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if runErr != nil {
		return 0, runErr
	}
	return rate(n, elapsed), nil
}

// engineShellRound runs the command n times as shell tasks through the
// engine and returns tasks/s.
func engineShellRound(ctx context.Context, e *benchEngine, n int) (float64, error) {
	d, err := e.runTasks(ctx, n, funcx.Task{Function: funcx.Command(shellCommand)})
	if err != nil {
		return 0, fmt.Errorf("shell tasks: %w", err)
	}
	return rate(n, d), nil
}
