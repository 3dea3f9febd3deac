package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

// directWorkers are real worker processes (this binary, re-executed as
// workers exactly as a manager starts them) that the harness drives
// itself, one task per frame, with no interchange and no manager between.
// They are the baseline of the no-op figures: what the engine adds on top
// of them is the fabric's own cost.
type directWorkers struct {
	runID string
	procs []*directWorker
}

type directWorker struct {
	cmd  *exec.Cmd
	conn *workertest.Conn
}

// startDirectWorkers starts n workers. They carry FUNCX_RUN_ID=runID, like
// an engine's processes, so that leftovers can be found.
func startDirectWorkers(n int, runID string) (*directWorkers, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("direct workers: %w", err)
	}
	d := &directWorkers{runID: runID}
	for i := range n {
		p, err := startDirectWorker(exe, i, runID)
		if err != nil {
			return nil, errors.Join(err, d.stop())
		}
		d.procs = append(d.procs, p)
	}
	return d, nil
}

func startDirectWorker(exe string, idx int, runID string) (*directWorker, error) {
	managerEnd, workerEnd, err := workertest.Socketpair()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		worker.EnvRole+"="+worker.RoleWorker,
		worker.EnvWorkerID+"="+strconv.Itoa(idx),
		worker.EnvFD+"=3",
		manager.EnvRunID+"="+runID,
	)
	cmd.ExtraFiles = []*os.File{workerEnd}
	cmd.Stderr = os.Stderr
	// As a manager does: the worker dies with us even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	workerEnd.Close()
	if err != nil {
		managerEnd.Close()
		return nil, fmt.Errorf("start direct worker %d: %w", idx, err)
	}
	p := &directWorker{cmd: cmd, conn: workertest.NewConn(managerEnd)}
	if _, err := p.conn.ReadReady(); err != nil {
		return nil, errors.Join(fmt.Errorf("direct worker %d: %w", idx, err), p.stop())
	}
	// A deadline per read would be measured too; stop and ctx unblock a
	// hang instead. Timeout = 0 only stops new deadlines: the one
	// ReadReady set must be cleared, or reads fail 30 s from now.
	p.conn.Timeout = 0
	if err := managerEnd.SetReadDeadline(time.Time{}); err != nil {
		return nil, errors.Join(fmt.Errorf("direct worker %d: %w", idx, err), p.stop())
	}
	return p, nil
}

// roundTrip sends one task in its own frame and reads its result, as a
// manager hands tasks to its workers.
func (p *directWorker) roundTrip(t funcx.Task) error {
	rs, err := p.conn.Run(t)
	if err != nil {
		return err
	}
	if len(rs) != 1 || rs[0].TaskID != t.ID {
		return fmt.Errorf("direct worker answered %d results for task %s", len(rs), t.ID)
	}
	return checkResult(&rs[0])
}

// throughput runs n copies of proto spread over the workers, each worker
// one task at a time, and returns tasks/s.
func (d *directWorkers) throughput(ctx context.Context, n int, proto funcx.Task) (float64, error) {
	errs := make(chan error, len(d.procs))
	procs := d.procs // the AfterFunc may run while stop clears d.procs
	stop := context.AfterFunc(ctx, func() {
		for _, p := range procs {
			p.conn.Close() // unblocks a round trip in flight
		}
	})
	defer stop()
	start := time.Now()
	for i, p := range d.procs {
		share := n/len(d.procs) + btoi(i < n%len(d.procs))
		go func() {
			t := proto
			for range share {
				t.ID = funcx.NewTaskID()
				if err := p.roundTrip(t); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var err error
	for range d.procs {
		if e := <-errs; err == nil {
			err = e // the first; the others usually repeat it
		}
	}
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return 0, fmt.Errorf("direct workers: %w", err)
	}
	return rate(n, elapsed), nil
}

// latencies times n one-task round trips on the first worker.
func (d *directWorkers) latencies(ctx context.Context, n int) ([]time.Duration, error) {
	p := d.procs[0]
	out := make([]time.Duration, 0, n)
	t := noopTask()
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t.ID = funcx.NewTaskID()
		start := time.Now()
		if err := p.roundTrip(t); err != nil {
			return nil, fmt.Errorf("direct worker: %w", err)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// stop closes every worker's connection (a worker exits at EOF) and
// reaps them all.
func (d *directWorkers) stop() error {
	var err error
	for _, p := range d.procs {
		err = errors.Join(err, p.stop())
	}
	d.procs = nil
	return err
}

func (p *directWorker) stop() error {
	p.conn.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("direct worker pid %d: %w", p.cmd.Process.Pid, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		return fmt.Errorf("direct worker pid %d did not exit within 10s of EOF: killed", p.cmd.Process.Pid)
	}
}
