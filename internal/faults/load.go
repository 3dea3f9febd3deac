package faults

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
)

// submitChunk is how many tasks one Executor.Map submits.
const submitChunk = 250

// load drives a run's tasks: per endpoint a submitter that keeps at most
// window tasks unanswered, through Executor.Map (the SDK's futures), and
// one reader of the identity's results feed (client.Results), which sees
// every result the service hands out, a second one of a task included.
// Task i goes to endpoint i%2 with argument {"i": i}.
type load struct {
	cl     *client.Client
	fn     string
	epIDs  []string
	exs    []*client.Executor
	n      int
	window int
	log    *slog.Logger

	mu sync.Mutex
	// futures[i] is task i's future, once submitted.
	futures []*client.Future
	// submitted and settled count per endpoint the tasks submitted and
	// those whose submission failed (never to be answered).
	submitted, settledSubmit []int
	// Of the results feed: rows per task ID, results per endpoint, every
	// arrival (for recovery times), and the time of the last.
	rows     map[string]int
	distinct int
	received map[string]int
	arrivals []arrival
	last     time.Time

	// held is how many of each endpoint's tasks the submitters keep back
	// (see holdBack).
	held int

	submitters sync.WaitGroup
	done       chan struct{} // closed when every submitter has returned
}

// arrival is one result reaching the SDK: when, from which endpoint, and
// when its task started on a worker.
type arrival struct {
	at       time.Time
	endpoint string
	started  time.Time
}

func newLoad(cl *client.Client, fn string, epIDs []string, n, window int, log *slog.Logger) *load {
	l := &load{cl: cl, fn: fn, epIDs: epIDs, n: n, window: window, log: log,
		futures: make([]*client.Future, n), submitted: make([]int, len(epIDs)), settledSubmit: make([]int, len(epIDs)),
		rows: map[string]int{}, received: map[string]int{}, done: make(chan struct{})}
	for _, id := range epIDs {
		l.exs = append(l.exs, cl.Executor(id))
	}
	return l
}

// start starts the submitters and the feed reader; both end with ctx
// (the feed reader) or when every task is submitted.
func (l *load) start(ctx, feedCtx context.Context, feedDone *sync.WaitGroup) {
	for ep := range l.epIDs {
		l.submitters.Go(func() { l.submit(ctx, ep) })
	}
	go func() { l.submitters.Wait(); close(l.done) }()
	feedDone.Go(func() { l.readFeed(feedCtx) })
}

// submit submits endpoint ep's tasks in chunks, each once fewer than
// window of them are unanswered.
func (l *load) submit(ctx context.Context, ep int) {
	ex := l.exs[ep]
	next := ep
	for next < l.n {
		for l.mayNotSubmit(ep) {
			if sleepCtx(ctx, 20*time.Millisecond) != nil {
				return
			}
		}
		var idx []int
		var inputs []any
		for ; next < l.n && len(idx) < submitChunk; next += len(l.epIDs) {
			idx = append(idx, next)
			inputs = append(inputs, map[string]int{"i": next})
		}
		fs, err := ex.Map(ctx, l.fn, inputs)
		failed := 0
		for _, f := range fs {
			if submitFailed(f) {
				failed++
			}
		}
		l.mu.Lock()
		for k, f := range fs {
			l.futures[idx[k]] = f
		}
		l.submitted[ep] += len(fs)
		l.settledSubmit[ep] += failed
		l.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("submission failed", "endpoint", l.epIDs[ep], "tasks", len(fs), "failed", failed, "err", err)
		}
	}
}

// submitFailed reports whether f resolved without a result: its
// submission failed.
func submitFailed(f *client.Future) bool {
	select {
	case <-f.Done():
		res, err := f.Result(context.Background())
		return res == nil && err != nil
	default:
		return false
	}
}

// holdBack keeps the last k tasks of each endpoint unsubmitted until
// holdBack(0): the RabbitMQ row keeps every one back while it waits for
// the lock (else the work could all be done when it strikes), and a
// window's worth until the broker is down (rabbitmqctl takes a while to
// stop it), so that tasks are submitted during the outage and answered
// after it however long the stop took.
func (l *load) holdBack(k int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = k
}

// total is the number of endpoint ep's tasks.
func (l *load) total(ep int) int { return (l.n - ep + len(l.epIDs) - 1) / len(l.epIDs) }

// mayNotSubmit reports whether endpoint ep's submitter must wait: its
// window is full, or only the tasks held back are left.
func (l *load) mayNotSubmit(ep int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.outstandingLocked(ep) >= l.window || l.total(ep)-l.submitted[ep] <= l.held
}

// waitBusy waits until every endpoint has its window of tasks
// unanswered (or all of its tasks not held back submitted), at most for
// d.
func (l *load) waitBusy(ctx context.Context, d time.Duration) {
	busy := func() bool {
		for ep := range l.epIDs {
			if !l.mayNotSubmit(ep) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(d); !busy() && time.Now().Before(deadline); {
		if sleepCtx(ctx, 20*time.Millisecond) != nil {
			return
		}
	}
}

// outstandingLocked is the number of endpoint ep's tasks submitted and
// not yet answered; l.mu is held.
func (l *load) outstandingLocked(ep int) int {
	return l.submitted[ep] - l.settledSubmit[ep] - l.received[l.epIDs[ep]]
}

// readFeed long-polls the identity's results from the first, until ctx
// ends.
func (l *load) readFeed(ctx context.Context) {
	var after int64
	for ctx.Err() == nil {
		page, err := l.cl.Results(ctx, after, 5*time.Second, 0)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Warn("results feed", "err", err)
				_ = sleepCtx(ctx, time.Second)
			}
			continue
		}
		now := time.Now()
		l.mu.Lock()
		for i := range page.Results {
			r := &page.Results[i]
			l.rows[r.TaskID]++
			if l.rows[r.TaskID] == 1 {
				l.distinct++
				l.received[r.EndpointID]++
			}
			l.arrivals = append(l.arrivals, arrival{at: now, endpoint: r.EndpointID, started: r.Times.Started})
			after = max(after, r.Seq)
		}
		if len(page.Results) > 0 {
			l.last = now
		}
		l.mu.Unlock()
		after = max(after, page.Next)
	}
}

// results returns how many tasks have a result in the feed, and when the
// last came.
func (l *load) results() (int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.distinct, l.last
}

// finished reports whether every task is submitted and every accepted one
// answered.
func (l *load) finished() bool {
	select {
	case <-l.done:
	default:
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	accepted := 0
	for ep := range l.epIDs {
		accepted += l.submitted[ep] - l.settledSubmit[ep]
	}
	return l.distinct >= accepted
}

// waitResults waits until k tasks have a result; it fails if none
// comes for stall, or when ctx ends.
func (l *load) waitResults(ctx context.Context, k int, stall time.Duration) error {
	began := time.Now()
	for {
		n, last := l.results()
		if n >= k {
			return nil
		}
		if since := time.Since(laterOf(last, began)); since > stall {
			return fmt.Errorf("%d of %d results, then none for %s", n, k, stall)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitFinished waits until every task is answered, or until no result
// came for stall since the later of the last result and calm (the end of
// the fault); it reports whether every task was answered.
func (l *load) waitFinished(ctx context.Context, calm time.Time, stall time.Duration) (bool, error) {
	for {
		if l.finished() {
			return true, nil
		}
		_, last := l.results()
		if since := time.Since(laterOf(last, calm)); since > stall {
			return false, nil
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// account fills the row's result columns from the futures and the feed.
// Futures of tasks the feed answered get up to wait to resolve.
func (l *load) account(row *Row, wait time.Duration) {
	l.mu.Lock()
	futures, rows := l.futures, l.rows
	l.mu.Unlock()
	deadline := time.After(wait)
	row.Failed = map[string]int{}
	unresolvedInFeed := 0
	for _, f := range futures {
		if f == nil {
			continue // never submitted (the run was cut short)
		}
		row.Submitted++
		if rows[f.TaskID()] > 0 {
			select {
			case <-f.Done():
			case <-deadline:
			}
		}
		select {
		case <-f.Done():
		default:
			row.Lost++
			if rows[f.TaskID()] > 0 {
				unresolvedInFeed++
			}
			continue
		}
		res, err := f.Result(context.Background())
		switch {
		case res == nil:
			row.Failed["SubmitError"]++
			row.note("submission of task %s failed: %v", f.TaskID(), err)
		case res.State() == funcx.StateFailed:
			row.Results++
			kind := "unknown"
			if e := res.TaskResult.Error; e != nil {
				kind = e.Kind
			}
			row.Failed[kind]++
		default:
			row.Results++
		}
	}
	for _, n := range rows {
		row.DuplicateResults += n - 1
	}
	if row.Submitted < row.Tasks {
		row.note("%d tasks never submitted: the run stopped while %d per endpoint were unanswered", row.Tasks-row.Submitted, l.window)
	}
	if unresolvedInFeed > 0 {
		row.note("%d results reached the results feed but not their futures", unresolvedInFeed)
	}
}

// arrivalsCopy returns every arrival so far.
func (l *load) arrivalsCopy() []arrival {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]arrival(nil), l.arrivals...)
}

// close stops the executors' goroutines.
func (l *load) close() {
	for _, ex := range l.exs {
		_ = ex.Close()
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
