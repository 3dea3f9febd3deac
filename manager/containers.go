package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/internal/wire"
)

// maxStartFailures is how many containers of one type may fail to start in
// a row before the tasks waiting for that type fail: a broken image must
// not leave its tasks waiting forever.
const maxStartFailures = 3

// containerState is the manager's container bookkeeping; nil when the
// workers are plain processes. Only the loop goroutine touches it.
type containerState struct {
	rt      container.Runtime
	sockDir string
	labels  map[string]string
	seq     int
	retire  *time.Ticker // soft routing: retire idle containers

	failures map[string]int // consecutive start failures per type
	figures  wire.Status    // counters; Types is filled when sent
	last     []byte         // the last Status sent, to send only changes
}

// setupContainers prepares the runtime: the socket directory mounted into
// every container and, for Docker, a reachable daemon with the orphans of
// dead managers removed.
func (m *manager) setupContainers(ctx context.Context) error {
	cc := m.cfg.Container
	if !cc.enabled() {
		return nil
	}
	opts, err := cc.options()
	if err != nil {
		return err
	}
	rt, err := container.New(cc.Runtime, opts)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if d, ok := rt.(*container.DockerRuntime); ok {
		if err := d.Ping(ctx); err != nil {
			d.Close()
			return fmt.Errorf("manager: %w", err)
		}
		if n, err := d.RemoveOrphans(ctx); err != nil {
			m.log.Warn("removing containers of dead managers failed", "err", err)
		} else if n > 0 {
			m.log.Info("removed containers of dead managers", "count", n)
		}
	}
	removeStaleSocketDirs(cc.SocketDir, m.log)
	dir, err := os.MkdirTemp(cc.SocketDir, socketDirPrefix(os.Getpid()))
	if err != nil {
		closeRuntime(rt)
		return fmt.Errorf("manager: make the workers' socket directory: %w", err)
	}
	host, _ := os.Hostname()
	m.cs = &containerState{
		rt: rt, sockDir: dir, failures: map[string]int{},
		labels: container.OwnerLabels(m.cfg.RunID, m.cfg.ManagerID, m.cfg.BlockID, host, os.Getpid()),
	}
	if cc.soft() {
		m.cs.retire = time.NewTicker(min(max(cc.MaxIdle/4, 10*time.Millisecond), 5*time.Second))
	}
	m.log.Info("workers run in containers", "runtime", cc.Runtime, "types", cc.Types, "soft", cc.soft(), "worker_binary", cc.WorkerBinary)
	return nil
}

// socketDirPrefix names a manager's socket directory after its process
// (pid and start time), so that the directory of a manager that was
// killed is recognised and removed by the next one.
func socketDirPrefix(pid int) string {
	start, _ := container.ProcessStart(pid)
	return "funcx-manager-" + strconv.Itoa(pid) + "-" + strconv.FormatUint(start, 10) + "-"
}

// removeStaleSocketDirs removes the socket directories in parent (the
// temporary directory if empty) of managers that are gone. A manager
// whose block is cancelled may be killed before it removes its own.
func removeStaleSocketDirs(parent string, log *slog.Logger) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "funcx-manager-*-*-*"))
	for _, d := range dirs {
		f := strings.Split(strings.TrimPrefix(filepath.Base(d), "funcx-manager-"), "-")
		pid, err1 := strconv.Atoi(f[0])
		start, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil || pid <= 0 {
			continue
		}
		if now, ok := container.ProcessStart(pid); ok && now == start {
			continue // its manager runs
		}
		if err := os.RemoveAll(d); err == nil {
			log.Debug("removed the socket directory of a manager that is gone", "dir", d)
		}
	}
}

// teardownContainers runs after every worker has exited.
func (m *manager) teardownContainers() {
	if m.cs == nil {
		return
	}
	if m.cs.retire != nil {
		m.cs.retire.Stop()
	}
	_ = os.RemoveAll(m.cs.sockDir)
	closeRuntime(m.cs.rt)
}

func closeRuntime(rt container.Runtime) {
	if c, ok := rt.(io.Closer); ok {
		_ = c.Close()
	}
}

// retireC ticks when idle containers should be checked; nil if never.
func (m *manager) retireC() <-chan time.Time {
	if m.cs == nil || m.cs.retire == nil {
		return nil
	}
	return m.cs.retire.C
}

// startWorker starts worker idx for the manager's fixed type: a container
// under hard routing, else a worker process.
func (m *manager) startWorker(idx int) (*workerProc, error) {
	if cc := m.cfg.Container; cc.enabled() && !cc.soft() {
		return m.startTyped(idx, cc.Types[0])
	}
	return m.startProcess(idx)
}

// startTyped starts a worker of container type typ; RAW tasks get a
// worker process.
func (m *manager) startTyped(idx int, typ string) (*workerProc, error) {
	if typ == funcx.RawContainer {
		return m.startProcess(idx)
	}
	return m.startContainer(idx, typ)
}

// assignTyped gives queued tasks to idle workers of their container type.
// Under soft routing a task with no such worker starts a container (cold
// start) in a free slot, or in the slot of the longest-idle worker of
// another type, which is evicted (a switch); with neither it waits.
func (m *manager) assignTyped() {
	now := time.Now()
	for _, w := range m.idle {
		if w.idleSince.IsZero() {
			w.idleSince = now
		}
	}
	if len(m.queue) == 0 {
		return
	}
	starting := map[string]int{} // containers on their way, each for one waiting task
	for _, w := range m.workers {
		if w != nil && !w.ready && !w.retiring {
			starting[w.typ]++
		}
	}
	cc := m.cfg.Container
	kept := m.queue[:0]
	for i := range m.queue {
		t := m.queue[i]
		if w := m.takeIdle(t.Container); w != nil {
			if w.fresh {
				w.fresh = false // the task its cold start was for
			} else {
				m.cs.figures.WarmHits++
			}
			m.dispatch(w, t)
			continue
		}
		if starting[t.Container] > 0 {
			starting[t.Container]--
			kept = append(kept, t)
			continue
		}
		if !cc.soft() {
			if t.Container != cc.Types[0] {
				m.failTask(&t, funcx.Errorf(funcx.InvalidTask, "this manager runs only containers of %s, not %s (hard routing sent it here: a bug)",
					funcx.ContainerDisplayName(cc.Types[0]), t.ContainerName()))
				continue
			}
			kept = append(kept, t)
			continue
		}
		if err := m.coldStart(t.Container); err != nil {
			m.failTask(&t, funcx.Errorf(funcx.WorkerLost, "%v", err))
			continue
		}
		kept = append(kept, t)
	}
	clear(m.queue[len(kept):])
	m.queue = kept
}

// takeIdle removes and returns the most recently idle worker of typ.
func (m *manager) takeIdle(typ string) *workerProc {
	for i := len(m.idle) - 1; i >= 0; i-- {
		if w := m.idle[i]; w.typ == typ {
			m.idle = slices.Delete(m.idle, i, i+1)
			return w
		}
	}
	return nil
}

func (m *manager) dispatch(w *workerProc, t funcx.Task) {
	w.idleSince = time.Time{}
	w.task = &t
	var err error
	if m.buf, err = w.sendTask(&t, m.buf); err != nil {
		m.log.Warn("handing a task to a worker failed", "worker", w.idx, "err", err)
		w.stop()
	}
}

func (m *manager) failTask(t *funcx.Task, err *funcx.TaskError) {
	m.ln.sendResults(funcx.FailedResult(t, err, time.Now()))
}

// coldStart starts a container of typ for a waiting task if a slot is
// free or can be freed by evicting an idle worker of another type. It
// returns an error only when the start itself failed.
func (m *manager) coldStart(typ string) error {
	idx := -1
	for i, w := range m.workers {
		if w == nil && m.timers[i] == nil {
			idx = i
			break
		}
	}
	if idx < 0 {
		vi := -1
		for i, w := range m.idle {
			if w.typ != typ && (vi < 0 || w.idleSince.Before(m.idle[vi].idleSince)) {
				vi = i
			}
		}
		if vi < 0 {
			return nil // every slot is busy: the task waits
		}
		victim := m.idle[vi]
		m.idle = slices.Delete(m.idle, vi, vi+1)
		m.log.Debug("evicting an idle worker for another type", "worker", victim.idx, "from", funcx.ContainerDisplayName(victim.typ), "to", funcx.ContainerDisplayName(typ))
		m.retireWorker(victim)
		m.cs.figures.Switches++
		idx = victim.idx
	}
	w, err := m.startTyped(idx, typ)
	if err != nil {
		return err
	}
	w.fresh = true
	m.workers[idx] = w
	m.cs.figures.ColdStarts++
	return nil
}

// retireWorker stops an idle worker whose slot is reused or freed.
func (m *manager) retireWorker(w *workerProc) {
	w.retiring = true
	if m.workers[w.idx] == w {
		m.workers[w.idx] = nil
	}
	w.stop()
}

// retireIdle stops containers idle for longer than MaxIdle (soft routing).
func (m *manager) retireIdle() {
	cutoff := time.Now().Add(-m.cfg.Container.MaxIdle)
	kept := m.idle[:0]
	for _, w := range m.idle {
		if !w.idleSince.IsZero() && w.idleSince.Before(cutoff) {
			m.log.Debug("retiring an idle worker", "worker", w.idx, "type", funcx.ContainerDisplayName(w.typ))
			m.retireWorker(w)
			m.cs.figures.Retired++
			continue
		}
		kept = append(kept, w)
	}
	clear(m.idle[len(kept):])
	m.idle = kept
}

// containerGone handles the exit of a worker in container mode (after the
// task it ran, if any, was failed). It counts start failures, failing the
// tasks that wait for a type whose containers keep failing, and reports
// whether the slot stays empty (soft routing) instead of being refilled.
func (m *manager) containerGone(w *workerProc, exitErr error, how string) bool {
	switch {
	case w.retiring:
	case w.ready:
		m.cs.failures[w.typ] = 0
	default:
		m.cs.failures[w.typ]++
		m.cs.figures.StartFailures++
		if errors.Is(exitErr, container.ErrNoImage) || m.cs.failures[w.typ] >= maxStartFailures {
			m.cs.failures[w.typ] = 0
			m.failWaiting(w.typ, how)
		}
	}
	if !m.cfg.Container.soft() {
		return false
	}
	m.assign()
	return true
}

// failWaiting fails the queued tasks of typ: its containers do not start.
func (m *manager) failWaiting(typ, how string) {
	kept := m.queue[:0]
	for i := range m.queue {
		t := &m.queue[i]
		if t.Container != typ {
			kept = append(kept, *t)
			continue
		}
		m.failTask(t, funcx.Errorf(funcx.WorkerLost, "no container of %s could start: %s", t.ContainerName(), how))
	}
	clear(m.queue[len(kept):])
	m.queue = kept
}

// sendStatus tells the interchange the workers per container type and the
// routing figures, when they changed since the last report.
func (m *manager) sendStatus() {
	st := m.cs.figures
	st.Types = nil
	idx := map[string]int{}
	for _, w := range m.workers {
		if w == nil || w.retiring {
			continue
		}
		i, ok := idx[w.typ]
		if !ok {
			i = len(st.Types)
			idx[w.typ] = i
			st.Types = append(st.Types, wire.TypeStatus{Container: w.typ})
		}
		st.Types[i].Workers++
	}
	for _, w := range m.idle {
		if i, ok := idx[w.typ]; ok {
			st.Types[i].Idle++
		}
	}
	slices.SortFunc(st.Types, func(a, b wire.TypeStatus) int {
		switch {
		case a.Container < b.Container:
			return -1
		case a.Container > b.Container:
			return 1
		}
		return 0
	})
	b := wire.AppendStatus(nil, &st)
	if bytes.Equal(b, m.cs.last) {
		return
	}
	m.cs.last = b
	m.ln.sendCtrl(wire.MsgStatus, b)
}
