package manager

import (
	"slices"
	"time"

	"github.com/funcx-go/funcx"
)

// How a manager keeps plain workers busy. A worker runs one task at a
// time, but between two tasks it would wait a round trip to the manager:
// send the result, let the manager pick the next task, read it. For short
// tasks that wait is most of the time, so the manager also queues tasks in
// the worker, up to WorkerQueue behind the one it runs, spread evenly.
//
// Queued work must not be stuck behind a long task while another worker
// idles, so a worker that has answered nothing for stallAfter is treated
// as busy with a long task: nothing more is queued behind it, and once a
// worker is idle with nothing left here, the stalled worker is asked to
// hand back what it has not started (Reclaim -> Return).

// stallAfter is how long a worker may go without answering before the
// tasks waiting in it are reclaimed for an idle worker.
const stallAfter = 5 * time.Millisecond

// assignPlain gives queued tasks to workers: one to each idle worker
// first, then the rest queued behind running tasks; and reclaims from
// stalled workers for idle ones.
func (m *manager) assignPlain() {
	for len(m.idle) > 0 && len(m.queue) > 0 {
		w := m.idle[len(m.idle)-1]
		m.idle = m.idle[:len(m.idle)-1]
		m.give(w, 1)
	}
	if len(m.queue) > 0 && m.cfg.WorkerQueue > 0 {
		m.topUp(time.Now())
	}
	if len(m.idle) > 0 && len(m.queue) == 0 {
		m.reclaimForIdle(time.Now())
	}
	if len(m.queue) == 0 && cap(m.queue) > 1<<12 {
		m.queue = nil
	}
}

// give moves the first n queued tasks to w, in one frame.
func (m *manager) give(w *workerProc, n int) {
	if len(w.tasks) == 0 {
		w.progress = time.Now()
	}
	from := len(w.tasks)
	w.tasks = append(w.tasks, m.queue[:n]...)
	clear(m.queue[:n])
	m.queue = m.queue[n:]
	var err error
	if m.buf, err = w.sendTasks(w.tasks[from:], m.buf); err != nil {
		// The watcher reports the worker's death, which fails the first
		// task and requeues the others.
		m.log.Warn("handing tasks to a worker failed", "worker", w.idx, "tasks", n, "err", err)
		w.stop()
	}
}

// topUp queues the remaining tasks behind running ones, one level at a
// time so that the queues stay even, in workers that are not stalled.
func (m *manager) topUp(now time.Time) {
	m.extra = slices.Grow(m.extra[:0], len(m.workers))[:len(m.workers)]
	clear(m.extra)
	left := len(m.queue)
	for level := 1; level <= m.cfg.WorkerQueue && left > 0; level++ {
		for i, w := range m.workers {
			if left == 0 {
				break
			}
			if w == nil || !w.ready || w.reclaiming || len(w.tasks)+m.extra[i] != level ||
				now.Sub(w.progress) >= stallAfter {
				continue
			}
			m.extra[i]++
			left--
		}
	}
	for i, n := range m.extra {
		if n > 0 {
			m.give(m.workers[i], n)
		}
	}
}

// reclaimForIdle asks stalled workers to hand back their waiting tasks,
// for the idle workers; workers not stalled yet are checked again when
// they would be (reclaimC).
func (m *manager) reclaimForIdle(now time.Time) {
	var next time.Time
	for _, w := range m.workers {
		if w == nil || len(w.tasks) < 2 || w.reclaiming {
			continue
		}
		if due := w.progress.Add(stallAfter); now.Before(due) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		m.reclaim(w)
	}
	if !next.IsZero() && m.reclaimT == nil {
		m.reclaimT = time.NewTimer(next.Sub(now))
	}
}

// reclaimC fires when a worker may have stalled with tasks waiting in it.
func (m *manager) reclaimC() <-chan time.Time {
	if m.reclaimT == nil {
		return nil
	}
	return m.reclaimT.C
}

func (m *manager) reclaim(w *workerProc) {
	if w.reclaiming {
		return
	}
	w.reclaiming = true
	if err := w.sendReclaim(); err != nil {
		m.log.Warn("asking a worker for its waiting tasks failed", "worker", w.idx, "err", err)
		w.stop()
	}
}

// onResults passes a worker's results on and takes their tasks off it.
func (m *manager) onResults(w *workerProc, rs []funcx.Result) {
	rs = slices.DeleteFunc(rs, func(r funcx.Result) bool {
		if _, ok := w.take(r.TaskID); ok {
			return false
		}
		m.log.Warn("worker sent a result for a task it does not have; ignored", "worker", w.idx, "task", r.TaskID)
		return true
	})
	w.progress = time.Now()
	w.quick = 0
	m.ln.sendResults(rs...)
	m.settle(w)
}

// onReturned takes back the tasks a worker handed back after a Reclaim.
func (m *manager) onReturned(w *workerProc, ids []funcx.TaskID) {
	w.reclaiming = false
	back := make([]funcx.Task, 0, len(ids))
	for _, id := range ids {
		if t, ok := w.take(id); ok {
			back = append(back, t)
		}
	}
	m.log.Debug("worker handed back the tasks it had not started", "worker", w.idx, "tasks", len(back))
	m.requeue(back)
	m.settle(w)
}

// settle makes w idle when it has nothing left, and assigns.
func (m *manager) settle(w *workerProc) {
	if len(w.tasks) == 0 && w.ready && !slices.Contains(m.idle, w) {
		m.idle = append(m.idle, w)
	}
	m.assign()
}

// requeue puts unstarted tasks back at the head of the queue, as they
// were sent before those queued now; a draining manager hands them back
// to the interchange instead.
func (m *manager) requeue(ts []funcx.Task) {
	if len(ts) == 0 {
		return
	}
	if m.draining || m.stopping {
		m.returnToInterchange(ts)
		return
	}
	m.queue = append(slices.Clip(ts), m.queue...)
}

// take removes the task id from w's tasks.
func (w *workerProc) take(id funcx.TaskID) (funcx.Task, bool) {
	for i := range w.tasks {
		if w.tasks[i].ID == id {
			t := w.tasks[i]
			w.tasks = slices.Delete(w.tasks, i, i+1)
			return t, true
		}
	}
	return funcx.Task{}, false
}
