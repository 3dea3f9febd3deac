package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/funcx-go/funcx/service/api"
)

// tooLargeLimit is the page size asked for after a page of the service's
// own size was too large.
const tooLargeLimit = 1000

// watcher is the client's one results long poll. It resolves the futures
// of every Executor of the client; results of tasks it was not told about
// (submitted by other clients of the same identity, or before) are
// dropped.
//
// Futures are registered before their task is posted, and the first post
// waits for the cursor to be fixed, so a result can never arrive before its
// future nor behind the cursor.
type watcher struct {
	c    *Client
	wake chan struct{} // signalled when futures are registered

	mu      sync.Mutex
	futures map[string]*Future
	closed  bool

	// startMu serialises start; started is read without it on the hot path.
	startMu sync.Mutex
	started atomic.Bool

	// after is the cursor; only the poll loop touches it once started.
	after int64
}

func newWatcher(c *Client) *watcher {
	return &watcher{c: c, wake: make(chan struct{}, 1), futures: make(map[string]*Future)}
}

// register adds futures to be resolved by the poll; it fails once the
// client is closed.
func (w *watcher) register(fs []*Future) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	for _, f := range fs {
		w.futures[f.id] = f
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// forget drops a future whose task was not submitted.
func (w *watcher) forget(id string) {
	w.mu.Lock()
	delete(w.futures, id)
	w.mu.Unlock()
}

// start fixes the cursor at the newest result and starts the poll loop,
// once; until it succeeds, every caller tries again.
func (w *watcher) start(ctx context.Context) error {
	if w.started.Load() {
		return nil
	}
	w.startMu.Lock()
	defer w.startMu.Unlock()
	if w.started.Load() {
		return nil
	}
	head, err := w.c.ResultsHead(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.after = head
	w.started.Store(true)
	w.c.log.Debug("watching results", "after", head)
	w.c.wg.Go(func() { w.run(w.c.ctx) })
	return nil
}

// run long-polls results while futures are waiting, until ctx ends.
// Each poll is a stream of pages lasting PollWait (unless
// DisableResultsStream): a client that submits one task at a time has
// its poll open already when the next task's result comes, rather than
// sending a new one, which would compete with that task's submission.
func (w *watcher) run(ctx context.Context) {
	limit := w.c.cfg.PollLimit
	failures := 0
	for w.waitPending(ctx) {
		var err error
		if w.c.cfg.DisableResultsStream {
			var page *api.ResultsPage
			if page, err = w.c.Results(ctx, w.after, w.c.cfg.PollWait, limit); err == nil {
				w.take(page)
			}
		} else {
			err = w.c.resultsStream(ctx, w.after, w.c.cfg.PollWait, limit, w.take)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ae *APIError
			switch {
			case errors.Is(err, errBodyTooLarge) && limit != 1:
				// Big outputs: ask for fewer results per page.
				limit = max(cmp.Or(limit, tooLargeLimit*2)/2, 1)
				w.c.log.Warn("results page too large, asking for fewer", "limit", limit)
			case errors.As(err, &ae) && !ae.temporary():
				// The service refuses the poll (credentials revoked, an
				// incompatible service): waiting futures would hang.
				w.c.log.Error("results poll refused", "err", err)
				w.failAll(fmt.Errorf("poll results: %w", err))
			default:
				w.c.log.Warn("results poll failed, retrying", "err", err, "failures", failures+1)
				if sleep(ctx, backoff(failures)) != nil {
					return
				}
				failures++
			}
			continue
		}
		failures = 0
	}
}

// take delivers a page's results and moves the cursor past them.
func (w *watcher) take(page *api.ResultsPage) {
	for i := range page.Results {
		w.deliver(page.Results[i])
	}
	w.after = max(w.after, page.Next, maxSeq(page.Results))
}

// waitPending blocks until a future is waiting; false once ctx ends. An
// idle client thus sends no new requests (a stream open when its last
// future resolved lasts to the end of its PollWait).
func (w *watcher) waitPending(ctx context.Context) bool {
	for {
		w.mu.Lock()
		n := len(w.futures)
		w.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return false
		}
	}
}

// deliver resolves the future of r's task, if this client has one.
func (w *watcher) deliver(r api.TaskResult) {
	w.mu.Lock()
	f := w.futures[r.TaskID]
	delete(w.futures, r.TaskID)
	w.mu.Unlock()
	if f != nil {
		f.complete(r)
	}
}

// failAll resolves every waiting future with err.
func (w *watcher) failAll(err error) {
	w.mu.Lock()
	fs := w.futures
	w.futures = make(map[string]*Future)
	w.mu.Unlock()
	for _, f := range fs {
		f.fail(err)
	}
}

// close fails every waiting future with ErrClosed and refuses new ones.
func (w *watcher) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.failAll(ErrClosed)
}
