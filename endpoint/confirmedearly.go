package endpoint

import (
	"sync"

	"github.com/funcx-go/funcx"
)

// confirmedEarly holds the tasks whose results the broker has confirmed,
// from the confirm until the result loop takes them (forget). The
// journaler does not journal such a task: its result is safe in the
// broker, so the task has nothing left to be kept for, and its delivery
// can be acked without a commit. A short task on a quiet endpoint is
// thus never written to the journal at all (see journaler.lingerFor);
// its ID joins the recently-done set with the other confirmed results
// (sentResults), so that a redelivery of it is still known.
type confirmedEarly struct {
	mu sync.Mutex
	m  map[funcx.TaskID]struct{}
	// wake (capacity 1) tells a lingering journaler that results were
	// confirmed; nil when nobody lingers.
	wake chan struct{}
}

// add records that the broker confirmed the results of tasks ids.
func (c *confirmedEarly) add(ids []funcx.TaskID) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[funcx.TaskID]struct{}, len(ids))
	}
	for _, id := range ids {
		c.m[id] = struct{}{}
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// all reports whether the results of every task of batch are confirmed.
func (c *confirmedEarly) all(batch []journaling) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range batch {
		for i := range q.d.Tasks {
			if _, ok := c.m[q.d.Tasks[i].ID]; !ok {
				return false
			}
		}
	}
	return true
}

// unconfirmed returns the tasks whose results are not confirmed, in
// order. tasks itself is not changed.
func (c *confirmedEarly) unconfirmed(tasks []funcx.Task) []funcx.Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) == 0 {
		return tasks
	}
	var keep []funcx.Task
	for i := range tasks {
		if _, ok := c.m[tasks[i].ID]; ok {
			if keep == nil {
				keep = append(make([]funcx.Task, 0, len(tasks)), tasks[:i]...)
			}
			continue
		}
		if keep != nil {
			keep = append(keep, tasks[i])
		}
	}
	if keep == nil {
		return tasks
	}
	return keep
}

// forget drops tasks ids, whose results the result loop is recording
// (their tasks' commits, if any, are over).
func (c *confirmedEarly) forget(ids []funcx.TaskID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.m, id)
	}
}
