package service

import (
	"cmp"
	"slices"
	"sync"
)

// notifier wakes the long polls of an owner when results for it are
// stored. A waiter takes the channel before it queries the store, so a
// result committed after the query still closes the channel it holds:
// no wake-up is lost and no one polls the database in a loop.
//
// A wake-up also carries the results whose commit caused it, so that a
// poll can often answer without reading them back from the store (see
// waiting.page).
type notifier struct {
	mu    sync.Mutex
	chans map[string]*wakeup // owner -> its waiters' wake-up, closed at its next results
	// last is the highest seq of the results this service has stored and
	// announced: every result up to it was committed before any waiter
	// that sees this value reads the store.
	last int64
}

// wakeup is shared by the waiters of one owner until results for the
// owner are stored.
type wakeup struct {
	ch chan struct{} // closed by wake
	// c is the commit that closed ch, with the owner's results; set
	// before ch is closed, read only after.
	c   *commit
	own []ResultRecord
}

// commit is the results one StoreResults stored, all owners', by seq.
type commit struct {
	first, last int64 // the lowest and highest seq stored
	n           int   // results stored
}

// waiting is one poll's wait for its owner's next results.
type waiting struct {
	w *wakeup
	// last is notifier.last when the wait began, before the poll read
	// the store.
	last int64
}

func newNotifier() *notifier { return &notifier{chans: make(map[string]*wakeup)} }

// wait returns a wait that ends when results for owner are next stored.
func (n *notifier) wait(owner string) waiting {
	n.mu.Lock()
	defer n.mu.Unlock()
	w, ok := n.chans[owner]
	if !ok {
		w = &wakeup{ch: make(chan struct{})}
		n.chans[owner] = w
	}
	return waiting{w: w, last: n.last}
}

// done is closed when results for the owner are next stored.
func (wt waiting) done() <-chan struct{} { return wt.w.ch }

// page returns the owner's results with seq > after, at most limit of
// them, from the commit that ended the wait; ok is false when they may
// not be all of them and the store must be read instead. They are all
// of them when the commit's seqs follow right after the last ones
// announced when the wait began: the poll's read of the store saw every
// result up to those, and none lies between them and the commit's (not
// even one stored by another process sharing the store, which would
// leave a gap). Call it only once done is closed.
func (wt waiting) page(after int64, limit int) (_ []ResultRecord, ok bool) {
	c := wt.w.c
	if c == nil || c.first != wt.last+1 || c.last-c.first+1 != int64(c.n) {
		return nil, false
	}
	var out []ResultRecord
	for i := range wt.w.own {
		if len(out) == limit {
			break
		}
		if wt.w.own[i].Seq > after {
			out = append(out, wt.w.own[i])
		}
	}
	return out, true
}

// wake announces the results one StoreResults stored and closes the
// wake-ups of their owners. Entries exist only for owners that waited
// since their last results, so the map stays small.
func (n *notifier) wake(stored []ResultRecord) {
	if len(stored) == 0 {
		return
	}
	c := &commit{first: stored[0].Seq, last: stored[0].Seq, n: len(stored)}
	for i := range stored {
		c.first = min(c.first, stored[i].Seq)
		c.last = max(c.last, stored[i].Seq)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.last = max(n.last, c.last)
	var woken []string
	for i := range stored {
		o := stored[i].Owner
		w, ok := n.chans[o]
		if !ok {
			continue
		}
		if w.c == nil {
			w.c = c
			woken = append(woken, o)
		}
		w.own = append(w.own, stored[i])
	}
	for _, o := range woken {
		w := n.chans[o]
		slices.SortFunc(w.own, func(a, b ResultRecord) int { return cmp.Compare(a.Seq, b.Seq) })
		close(w.ch)
		delete(n.chans, o)
	}
}

// wakeOwner announces results for owner up to seq last that are too many
// to carry (an endpoint deletion fails all of its waiting tasks at once):
// it closes the owner's wake-up without them, so its polls read the
// store.
func (n *notifier) wakeOwner(owner string, last int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.last = max(n.last, last)
	if w, ok := n.chans[owner]; ok {
		close(w.ch)
		delete(n.chans, owner)
	}
}
