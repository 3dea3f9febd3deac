package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/funcx-go/funcx"
)

// Journal is an endpoint's durable store of tasks, outgoing results and
// recently finished task IDs. Its methods are safe for concurrent use.
type Journal struct {
	path string
	opts Options
	log  *slog.Logger
	db   *bbolt.DB

	// mu orders sends on reqs against Close: senders hold it shared, so
	// once Close has set closed under the exclusive lock no request can
	// slip into the queue after the committer's final drain.
	mu     sync.RWMutex
	closed bool

	reqs      chan *request
	quit      chan struct{} // closed by Close: drain reqs and stop
	stopped   chan struct{} // closed when the committer has returned
	closeOnce sync.Once
	closeErr  error

	statsMu sync.Mutex
	stats   Stats

	// Owned by the committer goroutine (and by Open before it starts),
	// which changes it only while holding idxMu; Known reads it under
	// idxMu shared.
	idxMu sync.RWMutex
	idx   index
}

// index is the in-memory view of which task IDs are where, so that
// duplicate checks cost a map lookup rather than a B+tree search, and the
// next sequence number of each table.
type index struct {
	pending map[funcx.TaskID]uint64 // task ID -> sequence in tasks
	outbox  map[funcx.TaskID]uint64 // task ID -> sequence in outbox
	done    map[funcx.TaskID]uint64 // task ID -> sequence in done

	// The next free sequence of each table. Gaps are harmless.
	nextTask, nextOutbox, nextDone uint64

	// quarantined counts the records in the quarantine table.
	quarantined int

	// failed is the first commit error; every later write returns it.
	failed error
}

// Stats are the journal's figures.
type Stats struct {
	// Tasks is the number of journaled tasks not yet confirmed done:
	// waiting, running, or with a result the broker confirmed that the
	// next Confirm records.
	Tasks int
	// Outbox is the number of recorded results waiting for the broker's
	// confirm.
	Outbox int
	// Done is the size of the recently-done set.
	Done int
	// Commits counts write transactions (each one fsync'd batch) since Open.
	Commits uint64
	// Calls counts AddTasks, AddResults and Confirm calls committed.
	Calls uint64
	// Records counts the tasks, results and IDs those calls carried.
	Records uint64
	// AvgBatch is Records per commit: how well group commit works.
	AvgBatch float64
	// Duplicates counts tasks dropped by AddTasks as already known.
	Duplicates uint64
	// Orphans counts results dropped by AddResults because their task
	// was not journaled (already finished, or unknown).
	Orphans uint64
	// Quarantined is the number of records in the quarantine table:
	// records that could not be used, kept for inspection (see
	// QuarantineTasks). Not zero means the file was damaged.
	Quarantined int
}

// Open opens the journal at path, creating it if it does not exist. It
// holds an exclusive lock on the file until Close; if another process
// holds it, Open waits up to Options.Timeout and fails with ErrLocked.
func Open(path string, opts Options) (*Journal, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.Timeout,
		// Rebuild the freelist by scanning the file on open rather than
		// rewrite it in every commit: after a large backlog drains the
		// freelist spans many pages, and the scan is paid once. At a
		// 100k-task backlog the two measure the same
		// (BenchmarkFreelistSync); this bounds the worse case.
		NoFreelistSync: !opts.freelistSync,
		FreelistType:   bbolt.FreelistMapType,
	})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("open journal %s: %w (waited %s)", path, ErrLocked, opts.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{
		path:    path,
		opts:    opts,
		log:     opts.Logger.With("journal", path),
		db:      db,
		reqs:    make(chan *request, 256),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if err := j.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j.publishStats(Stats{})
	j.log.Info("journal opened", "tasks", len(j.idx.pending), "outbox", len(j.idx.outbox), "done", len(j.idx.done),
		"quarantined", j.idx.quarantined)
	go j.run()
	return j, nil
}

// Path returns the journal's file name.
func (j *Journal) Path() string { return j.path }

// Close commits the writes already queued, stops the committer and
// releases the file. It is safe to call more than once.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closed = true
		j.mu.Unlock()
		close(j.quit)
		<-j.stopped
		if err := j.db.Close(); err != nil {
			j.closeErr = fmt.Errorf("close journal %s: %w", j.path, err)
		}
		j.log.Debug("journal closed")
	})
	return j.closeErr
}

// Stats returns the journal's current figures.
func (j *Journal) Stats() Stats {
	j.statsMu.Lock()
	defer j.statsMu.Unlock()
	return j.stats
}

// publishStats refreshes the figures after a commit; delta holds the
// counters the commit adds. Only the committer (and Open) call it.
func (j *Journal) publishStats(delta Stats) {
	j.statsMu.Lock()
	defer j.statsMu.Unlock()
	s := &j.stats
	s.Tasks, s.Outbox, s.Done = len(j.idx.pending), len(j.idx.outbox), len(j.idx.done)
	s.Quarantined = j.idx.quarantined
	s.Commits += delta.Commits
	s.Calls += delta.Calls
	s.Records += delta.Records
	s.Duplicates += delta.Duplicates
	s.Orphans += delta.Orphans
	if s.Commits > 0 {
		s.AvgBatch = float64(s.Records) / float64(s.Commits)
	}
}
