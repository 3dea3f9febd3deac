package service

import "sync"

// notifier wakes the long polls of an owner when results for it are
// stored. A waiter takes the channel before it queries the store, so a
// result committed after the query still closes the channel it holds:
// no wake-up is lost and no one polls the database in a loop.
type notifier struct {
	mu    sync.Mutex
	chans map[string]chan struct{} // owner -> closed at its next results
}

func newNotifier() *notifier { return &notifier{chans: make(map[string]chan struct{})} }

// wait returns a channel closed when results for owner are next stored.
func (n *notifier) wait(owner string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, ok := n.chans[owner]
	if !ok {
		ch = make(chan struct{})
		n.chans[owner] = ch
	}
	return ch
}

// wake closes the channels of the owners. Entries exist only for owners
// that waited since their last results, so the map stays small.
func (n *notifier) wake(owners map[string]struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for o := range owners {
		if ch, ok := n.chans[o]; ok {
			close(ch)
			delete(n.chans, o)
		}
	}
}
