package worker

import (
	"sync"

	"github.com/funcx-go/funcx"
)

// inbox hands task batches from the connection's reader to the loop that
// runs them. Pushing never blocks, so the reader always goes straight back
// to reading and sees the manager's EOF even while a task runs and more
// batches wait: that is what lets a dead manager's worker stop at once.
type inbox struct {
	mu      sync.Mutex
	batches [][]funcx.Task // batches[head:] wait
	head    int
	ready   chan struct{} // holds a token while batches is not empty
}

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

func (in *inbox) push(b []funcx.Task) {
	in.mu.Lock()
	in.batches = append(in.batches, b)
	in.mu.Unlock()
	select {
	case in.ready <- struct{}{}:
	default: // a token is already there
	}
}

// pop takes the oldest batch, if any.
func (in *inbox) pop() ([]funcx.Task, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head == len(in.batches) {
		return nil, false
	}
	b := in.batches[in.head]
	in.batches[in.head] = nil
	in.head++
	if in.head == len(in.batches) { // drained: reuse the array from its start
		in.batches, in.head = in.batches[:0], 0
	}
	return b, true
}
