package manager

import (
	"errors"
	"slices"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/container"
)

// How a container manager places tasks: on an idle worker of their type,
// else (soft routing) in a container it starts, evicting an idle worker of
// another type when every slot is taken; idle containers retire.

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
	w.tasks = append(w.tasks[:0], t)
	w.progress = time.Now()
	var err error
	if m.buf, err = w.sendTasks(w.tasks, m.buf); err != nil {
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
