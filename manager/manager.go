package manager

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// manager is the state of one Run. Everything but wg and the channels is
// owned by the loop goroutine.
type manager struct {
	cfg Config
	log *slog.Logger
	ln  *link

	workers      []*workerProc // by index; nil while one is being replaced
	idle         []*workerProc
	queue        []funcx.Task // tasks waiting for a worker
	workerEvents chan workerEvent
	restarts     chan restart
	timers       map[int]*time.Timer // pending worker restarts
	reclaimT     *time.Timer         // when a stalled worker's queue is due back; see pipeline.go
	extra        []int               // scratch of topUp, by worker index
	wg           sync.WaitGroup      // worker watchers
	draining     bool
	stopping     bool
	buf          []byte
	cs           *containerState // nil unless workers run in containers
}

// Run connects to the interchange, starts the node's workers and serves
// tasks until the interchange shuts it down (nil), ctx ends (a graceful
// stop: unstarted tasks are handed back, running ones get GracePeriod;
// returns nil), the walltime passes (nil), or the interchange is lost or
// refuses the manager (an error). Every worker it started has exited when
// Run returns.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	cores, mem := nodeResources()
	n := cfg.WorkerCount(cores, mem)
	log := cfg.Logger.With("component", "manager", "manager", cfg.ManagerID)
	started := time.Now()

	ln, err := dial(ctx, &cfg, n)
	if err != nil {
		return err
	}
	log.Info("connected to interchange", "addr", cfg.InterchangeAddr, "workers", n, "prefetch", cfg.Prefetch)
	m := &manager{
		cfg: cfg, log: log, ln: ln,
		workers:      make([]*workerProc, n),
		workerEvents: make(chan workerEvent, 2*n+4),
		restarts:     make(chan restart, n),
		timers:       map[int]*time.Timer{},
	}
	ln.writeWG.Add(1)
	go ln.writeLoop(ln.welcome.HeartbeatPeriod)

	if err := m.setupContainers(ctx); err != nil {
		ln.close()
		return err
	}
	defer m.teardownContainers()
	for i := range n {
		if cfg.Container.soft() {
			break // containers start on demand, of the tasks' types
		}
		w, err := m.startWorker(i)
		if err != nil {
			m.stopWorkers()
			ln.close()
			return err
		}
		m.workers[i] = w
	}

	linkEvents := make(chan linkEvent, 16)
	readerDone := make(chan struct{})
	stopReader := make(chan struct{})
	go func() {
		defer close(readerDone)
		ln.readLoop(linkEvents, stopReader)
	}()
	err = m.loop(ctx, linkEvents, started)

	m.stopWorkers()
	close(stopReader)
	ln.close()
	<-readerDone
	return err
}

func (m *manager) loop(ctx context.Context, linkEvents <-chan linkEvent, started time.Time) error {
	var drainC, endC <-chan time.Time
	if m.cfg.Walltime > 0 {
		drainT := time.NewTimer(time.Until(started.Add(m.cfg.Walltime - m.cfg.DrainPeriod)))
		endT := time.NewTimer(time.Until(started.Add(m.cfg.Walltime)))
		defer drainT.Stop()
		defer endT.Stop()
		drainC, endC = drainT.C, endT.C
	}
	var graceC <-chan time.Time
	for {
		if m.cs != nil {
			m.sendStatus()
		}
		if m.draining && len(m.queue) == 0 && m.busy() == 0 {
			m.log.Info("drained: no task left; exiting")
			return nil
		}
		select {
		case <-ctx.Done():
			if !m.draining {
				m.log.Info("stop requested: draining", "grace", m.cfg.GracePeriod)
				m.drain()
			}
			if graceC == nil {
				t := time.NewTimer(m.cfg.GracePeriod)
				defer t.Stop()
				graceC = t.C
			}
			ctx = context.Background() // seen; now wait for the grace period
		case <-graceC:
			m.log.Warn("grace period over: stopping workers with tasks still running", "running", m.busy())
			return nil
		case ev := <-linkEvents:
			switch {
			case ev.err != nil:
				m.log.Error("lost the interchange: stopping workers and exiting", "err", ev.err)
				return fmt.Errorf("manager: lost the interchange: %w", ev.err)
			case ev.shutdown:
				m.log.Info("interchange asked for shutdown")
				return nil
			default:
				m.takeTasks(ev.tasks)
			}
		case ev := <-m.workerEvents:
			m.onWorkerEvent(ev)
		case r := <-m.restarts:
			delete(m.timers, r.idx)
			m.restartWorker(r)
		case <-m.retireC():
			m.retireIdle()
		case <-m.reclaimC():
			m.reclaimT = nil
			m.assign()
		case <-drainC:
			m.log.Info("walltime ends soon: draining", "walltime", m.cfg.Walltime, "drain_period", m.cfg.DrainPeriod)
			m.drain()
		case <-endC:
			m.log.Warn("walltime reached: stopping workers", "running", m.busy())
			return nil
		}
	}
}

func (m *manager) busy() int {
	n := 0
	for _, w := range m.workers {
		if w != nil && len(w.tasks) > 0 {
			n++
		}
	}
	return n
}

func (m *manager) takeTasks(tasks []funcx.Task) {
	if m.draining {
		m.returnToInterchange(tasks)
		return
	}
	m.queue = append(m.queue, tasks...)
	m.assign()
}

// assign gives queued tasks to workers.
func (m *manager) assign() {
	if m.cs != nil {
		m.assignTyped()
		return
	}
	m.assignPlain()
}

func (m *manager) onWorkerEvent(ev workerEvent) {
	w := ev.w
	switch {
	case ev.ready:
		w.ready = true
		m.log.Debug("worker ready", "worker", w.idx, "pid", w.pid)
		m.idle = append(m.idle, w)
		m.assign()
	case ev.results != nil:
		m.onResults(w, ev.results)
	case ev.returned != nil:
		m.onReturned(w, ev.returned)
	case ev.exited:
		m.onWorkerExit(w, ev.exitErr)
	}
}

func (m *manager) onWorkerExit(w *workerProc, exitErr error) {
	if m.workers[w.idx] == w {
		m.workers[w.idx] = nil
	}
	for i, o := range m.idle {
		if o == w {
			m.idle = append(m.idle[:i], m.idle[i+1:]...)
			break
		}
	}
	how := describeExit(w, exitErr)
	if len(w.tasks) > 0 {
		// The first task was running (or about to); those behind it never
		// started, so they go to another worker rather than fail.
		t, waiting := &w.tasks[0], w.tasks[1:]
		r := funcx.FailedResult(t, funcx.Errorf(funcx.WorkerLost, "%s while running the task", how), time.Now())
		r.Worker = w.idx
		m.ln.sendResults(r)
		m.log.Warn("worker lost with a task", "worker", w.idx, "pid", w.pid, "task", t.ID, "exit", how, "requeued", len(waiting))
		w.tasks = nil
		m.requeue(waiting)
		if len(waiting) > 0 && !m.stopping {
			m.assign() // w is out of m.workers and m.idle already
		}
	} else if !m.stopping && !w.retiring {
		m.log.Warn("worker exited", "worker", w.idx, "pid", w.pid, "exit", how)
	}
	if m.stopping || m.draining {
		return
	}
	if m.cs != nil && m.containerGone(w, exitErr, how) {
		return
	}
	// Replace it; back off when workers die right after starting, which
	// means a broken worker command rather than a bad task.
	delay := time.Duration(0)
	quick := 0
	if !w.ready || time.Since(w.started) < 2*time.Second {
		quick = w.quick + 1
		delay = min(100*time.Millisecond<<min(quick, 9), 30*time.Second)
		if !w.ready {
			m.log.Error("worker exited before it was ready: does the worker command call worker.Main?",
				"worker", w.idx, "command", m.cfg.WorkerCommand, "exit", how, "retry_in", delay)
		}
	}
	m.scheduleRestart(restart{idx: w.idx, quick: quick}, delay)
}

// restart asks the loop to replace worker idx; quick is the crash-loop
// count the replacement inherits, for backoff.
type restart struct{ idx, quick int }

func (m *manager) scheduleRestart(r restart, delay time.Duration) {
	m.timers[r.idx] = time.AfterFunc(delay, func() { m.restarts <- r })
}

func (m *manager) restartWorker(r restart) {
	if m.stopping || m.draining || m.workers[r.idx] != nil {
		return
	}
	w, err := m.startWorker(r.idx)
	if err != nil {
		m.log.Error("replacing a worker failed; retrying", "worker", r.idx, "err", err)
		m.scheduleRestart(r, 5*time.Second)
		return
	}
	w.quick = r.quick
	m.workers[r.idx] = w
}

// drain stops taking tasks and hands queued ones back to the interchange,
// those waiting in workers too (once the workers give them back).
func (m *manager) drain() {
	m.draining = true
	m.ln.sendCtrl(wire.MsgDrain, nil)
	m.returnToInterchange(m.queue)
	m.queue = nil
	for _, w := range m.workers {
		if w != nil && len(w.tasks) > 1 {
			m.reclaim(w)
		}
	}
}

// returnToInterchange hands unstarted tasks back to the interchange.
func (m *manager) returnToInterchange(ts []funcx.Task) {
	if len(ts) == 0 {
		return
	}
	ids := make([]funcx.TaskID, len(ts))
	for i := range ts {
		ids[i] = ts[i].ID
	}
	m.ln.sendCtrl(wire.MsgReturn, wire.AppendTaskIDs(nil, ids))
}

// stopWorkers closes every worker's socket and waits until all have been
// reaped, draining their events meanwhile.
func (m *manager) stopWorkers() {
	m.stopping = true
	if m.reclaimT != nil {
		m.reclaimT.Stop()
	}
	for idx, t := range m.timers {
		t.Stop()
		delete(m.timers, idx)
	}
	for _, w := range m.workers {
		if w != nil {
			w.stop()
		}
	}
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	for {
		select {
		case ev := <-m.workerEvents:
			if ev.exited {
				m.onWorkerExit(ev.w, ev.exitErr)
			}
		case <-done:
			return
		}
	}
}
