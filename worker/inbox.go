package worker

import (
	"sync"

	"github.com/funcx-go/funcx"
)

// inbox hands tasks from the connection's reader to the loop that runs
// them, one at a time and in the order they came. Pushing never blocks, so
// the reader always goes straight back to reading and sees the manager's
// EOF even while a task runs and more wait: that is what lets a dead
// manager's worker stop at once. The manager may queue several tasks here
// to hide its round trip, and reclaim the ones not started yet (takeAll)
// when another worker runs out of work.
type inbox struct {
	mu    sync.Mutex
	tasks []funcx.Task // tasks[head:] wait
	head  int
	ready chan struct{} // holds a token while tasks is not empty
}

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

func (in *inbox) push(ts []funcx.Task) {
	in.mu.Lock()
	in.tasks = append(in.tasks, ts...)
	in.mu.Unlock()
	select {
	case in.ready <- struct{}{}:
	default: // a token is already there
	}
}

// pop takes the oldest task, if any; more reports whether others wait.
func (in *inbox) pop() (t funcx.Task, ok, more bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head == len(in.tasks) {
		return funcx.Task{}, false, false
	}
	t = in.tasks[in.head]
	in.tasks[in.head] = funcx.Task{}
	in.head++
	if in.head == len(in.tasks) { // drained: reuse the array from its start
		in.tasks, in.head = in.tasks[:0], 0
	}
	return t, true, in.head < len(in.tasks)
}

// popIf takes the oldest task if ok accepts it.
func (in *inbox) popIf(ok func(*funcx.Task) bool) (funcx.Task, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head == len(in.tasks) || !ok(&in.tasks[in.head]) {
		return funcx.Task{}, false
	}
	t := in.tasks[in.head]
	in.tasks[in.head] = funcx.Task{}
	in.head++
	if in.head == len(in.tasks) {
		in.tasks, in.head = in.tasks[:0], 0
	}
	return t, true
}

// empty reports whether no task waits.
func (in *inbox) empty() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.head == len(in.tasks)
}

// takeAll removes every waiting task and returns their IDs, oldest first.
func (in *inbox) takeAll() []funcx.TaskID {
	in.mu.Lock()
	defer in.mu.Unlock()
	ids := make([]funcx.TaskID, 0, len(in.tasks)-in.head)
	for i := in.head; i < len(in.tasks); i++ {
		ids = append(ids, in.tasks[i].ID)
	}
	clear(in.tasks)
	in.tasks, in.head = in.tasks[:0], 0
	return ids
}
