package interchange

import (
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
)

// handleResults records a manager's results and delivers those of tasks
// the manager really holds; anything else (a task it was never given, or
// already declared lost) is dropped and counted as stale. Results of system
// failures (a lost worker) are retried while retries are left.
func (ix *Interchange) handleResults(m *managerConn, results []funcx.Result) {
	now := time.Now()
	keep := results[:0]
	retried := 0
	ix.mu.Lock()
	for _, r := range results {
		e, ok := m.inflight[r.TaskID]
		if !ok || m.lost {
			ix.counters.Stale++
			continue
		}
		delete(m.inflight, r.TaskID)
		if r.Error != nil && r.Error.Kind.IsSystemFailure() && e.task.Attempt < ix.cfg.MaxRetriesOnSystemFailure {
			ix.requeueLocked(e.task, fmt.Sprintf("%s on manager %s", r.Error.Kind, m.id))
			retried++
			continue
		}
		r.Manager = m.id
		r.Times.Dispatched = e.dispatched
		if r.Times.Received.IsZero() {
			r.Times.Received = e.task.Received
		}
		keep = append(keep, r)
	}
	ix.inflight -= len(keep) + retried
	ix.counters.Completed += uint64(len(keep))
	if len(m.inflight) == 0 {
		m.idleSince = now
	}
	ix.mu.Unlock()
	ix.wake()
	ix.deliver(keep)
}

// handleReturn re-queues tasks a manager hands back unstarted (it is
// draining); they keep their attempt count.
func (ix *Interchange) handleReturn(m *managerConn, ids []funcx.TaskID) {
	ix.mu.Lock()
	n := 0
	for i := len(ids) - 1; i >= 0; i-- { // front-push in reverse keeps their order
		e, ok := m.inflight[ids[i]]
		if !ok {
			continue
		}
		delete(m.inflight, ids[i])
		ix.pending.pushFront(e.task)
		n++
	}
	ix.inflight -= n
	if len(m.inflight) == 0 {
		m.idleSince = time.Now()
	}
	ix.mu.Unlock()
	if n > 0 {
		ix.log.Info("manager returned unstarted tasks", "manager", m.id, "tasks", n)
	}
	ix.wake()
}

// requeueLocked puts a task lost to a system failure back at the front of
// its queue with its attempt counted. ix.mu is held.
func (ix *Interchange) requeueLocked(t funcx.Task, why string) {
	t.Attempt++
	ix.counters.Retried++
	ix.pending.pushFront(t)
	ix.log.Info("retrying task", "task", t.ID, "attempt", t.Attempt, "max_retries", ix.cfg.MaxRetriesOnSystemFailure, "reason", why)
}

// managerGone removes a manager whose connection ended. Its in-flight tasks
// are retried or fail with ManagerLost.
func (ix *Interchange) managerGone(m *managerConn, reason string) {
	now := time.Now()
	var failed []funcx.Result
	ix.mu.Lock()
	if m.lost {
		ix.mu.Unlock()
		return
	}
	m.lost = true
	delete(ix.managers, m.id)
	for i, o := range ix.order {
		if o == m {
			ix.order = append(ix.order[:i], ix.order[i+1:]...)
			break
		}
	}
	n := len(m.inflight)
	for _, e := range m.inflight {
		if e.task.Attempt < ix.cfg.MaxRetriesOnSystemFailure {
			ix.requeueLocked(e.task, "manager "+m.id+" lost: "+reason)
			continue
		}
		r := funcx.FailedResult(&e.task, funcx.Errorf(funcx.ManagerLost,
			"manager %s on host %s (block %s) was lost: %s", m.id, m.hello.Hostname, m.hello.BlockID, reason), now)
		r.Manager = m.id
		r.Times.Dispatched = e.dispatched
		failed = append(failed, r)
	}
	m.inflight = nil
	ix.inflight -= n
	ix.counters.Completed += uint64(len(failed))
	stopping := isClosed(ix.done)
	if n > 0 || (!m.draining && !stopping) {
		ix.counters.Lost++
	}
	ix.mu.Unlock()

	switch {
	case stopping:
		ix.log.Info("manager disconnected", "manager", m.id, "reason", reason)
	case n == 0 && m.draining:
		ix.log.Info("manager finished draining and left", "manager", m.id)
	default:
		ix.log.Warn("manager lost", "manager", m.id, "host", m.hello.Hostname, "block", m.hello.BlockID,
			"reason", reason, "in_flight", n, "failed", len(failed), "retried", n-len(failed))
	}
	ix.wake()
	ix.deliver(failed)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
