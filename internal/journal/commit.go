package journal

import (
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/funcx-go/funcx"
)

type opKind uint8

const (
	opTasks opKind = iota
	opResults
	opConfirm
	opQuarantine
)

// request is one AddTasks (AddTasksConfirming), AddResults or Confirm
// call waiting for a commit.
// The caller encodes its records before queueing, so encoding runs on the
// callers' cores in parallel and the committer only writes.
type request struct {
	op      opKind
	tasks   []funcx.Task
	results []funcx.Result
	ids     []funcx.TaskID // Confirm's, or AddTasksConfirming's confirmed
	recs    [][]byte       // encoded task or result records, one per element

	quarantine []quarantineItem

	// Outputs, written by the committer before it answers on done.
	fresh  []funcx.Task
	stored int
	done   chan error // buffered: the committer never blocks on a caller that gave up
}

func (r *request) size() int {
	return len(r.tasks) + len(r.results) + len(r.ids) + len(r.quarantine)
}

// run is the committer: it gathers the requests that queued up while the
// previous commit was syncing and commits them in one transaction, so the
// fsync cost is shared by every concurrent caller.
func (j *Journal) run() {
	defer close(j.stopped)
	var batch []*request
	for {
		select {
		case r := <-j.reqs:
			batch = j.gather(append(batch, r))
			j.commit(batch)
		case <-j.quit:
			// Close holds closed=true, so nothing more can be queued:
			// commit what is left, then stop.
			for {
				batch, _ = j.drain(batch, 0)
				if len(batch) == 0 {
					return
				}
				j.commit(batch)
				batch = reuse(batch)
			}
		}
		batch = reuse(batch)
	}
}

// reuse empties batch for the next commit, dropping its pointers so that
// committed tasks and results can be collected.
func reuse(batch []*request) []*request {
	clear(batch)
	return batch[:0]
}

// drain adds the requests already queued to batch, which holds n records,
// until it holds MaxBatch records or the queue is empty.
func (j *Journal) drain(batch []*request, n int) ([]*request, int) {
	for n < j.opts.MaxBatch {
		select {
		case r := <-j.reqs:
			batch = append(batch, r)
			n += r.size()
		default:
			return batch, n
		}
	}
	return batch, n
}

// gather completes a batch started by one request: what is queued, and
// then what arrives within FlushInterval, up to MaxBatch records.
func (j *Journal) gather(batch []*request) []*request {
	batch, n := j.drain(batch, batch[0].size())
	if j.opts.FlushInterval <= 0 || n >= j.opts.MaxBatch {
		return batch
	}
	timer := time.NewTimer(j.opts.FlushInterval)
	defer timer.Stop()
	for n < j.opts.MaxBatch {
		select {
		case r := <-j.reqs:
			batch = append(batch, r)
			n += r.size()
		case <-timer.C:
			return batch
		case <-j.quit:
			return batch
		}
	}
	return batch
}

// commit applies a batch in one transaction and answers every request.
func (j *Journal) commit(batch []*request) {
	err := j.idx.failed
	var delta Stats
	if err == nil {
		delta, err = j.write(batch)
		if err != nil {
			// The in-memory index may now disagree with the file, and
			// after a failed fsync nobody knows what reached the disk:
			// refuse further writes until a reopen reads the truth.
			j.idx.failed = err
			j.log.Error("journal commit failed; refusing writes until reopened", "err", err)
		}
	}
	if err != nil {
		err = fmt.Errorf("commit journal: %w: %w", ErrFailed, err)
		for _, r := range batch {
			r.fresh, r.stored = nil, 0
		}
	} else {
		j.publishStats(delta)
	}
	for _, r := range batch {
		r.done <- err
	}
}

// write runs one write transaction for the batch.
func (j *Journal) write(batch []*request) (Stats, error) {
	delta := Stats{Commits: 1, Calls: uint64(len(batch))}
	tx, err := j.db.Begin(true)
	if err != nil {
		return delta, fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	w := writer{
		tx:     tx,
		tasks:  tx.Bucket(tableTasks),
		outbox: tx.Bucket(tableOutbox),
		done:   tx.Bucket(tableDone),
		now:    j.opts.Clock(),
	}
	// Records are appended in sequence order, so pages are best packed
	// full; the default half-full split wastes half of every page.
	w.tasks.FillPercent, w.outbox.FillPercent, w.done.FillPercent = 1, 1, 1
	if err := j.apply(&w, batch, &delta); err != nil {
		return delta, err
	}
	if err := tx.Commit(); err != nil {
		return delta, fmt.Errorf("commit transaction: %w", err)
	}
	return delta, nil
}

// apply writes the batch's records into the transaction and updates the
// index to match. It holds idxMu only here, not during the fsync, so
// that Known answers while a commit syncs: a task the index holds is
// then either durable or in the commit under way, and a failed commit
// fails the journal for good.
func (j *Journal) apply(w *writer, batch []*request, delta *Stats) error {
	j.idxMu.Lock()
	defer j.idxMu.Unlock()
	for _, r := range batch {
		delta.Records += uint64(r.size())
		var err error
		switch r.op {
		case opTasks:
			err = j.putTasks(w, r, delta)
			if err == nil && len(r.ids) > 0 {
				err = j.confirm(w, r) // AddTasksConfirming
			}
		case opResults:
			err = j.putResults(w, r, delta)
		case opConfirm:
			err = j.confirm(w, r)
		case opQuarantine:
			err = j.putQuarantine(w, r)
		}
		if err != nil {
			return err
		}
	}
	if w.confirmed {
		if _, err := j.evictDone(w.tx); err != nil {
			return err
		}
	}
	return nil
}

// writer is the state of one write transaction.
type writer struct {
	tx                  *bbolt.Tx
	tasks, outbox, done *bbolt.Bucket
	now                 time.Time
	confirmed           bool
	// keys is an arena for record keys: bbolt requires keys and values
	// to stay valid until the transaction ends.
	keys []byte
}

func (w *writer) key(seq uint64, id funcx.TaskID) []byte {
	if len(w.keys) < keyLen {
		w.keys = make([]byte, 256*keyLen)
	}
	k := w.keys[:keyLen:keyLen]
	w.keys = w.keys[keyLen:]
	putKey(k, seq, id)
	return k
}

func (j *Journal) putTasks(w *writer, r *request, delta *Stats) error {
	x := &j.idx
	for i := range r.tasks {
		id := r.tasks[i].ID
		if j.known(id) {
			delta.Duplicates++
			continue
		}
		seq := x.nextTask
		if err := w.tasks.Put(w.key(seq, id), r.recs[i]); err != nil {
			return fmt.Errorf("put task %s: %w", id, err)
		}
		x.nextTask++
		x.pending[id] = seq
		r.fresh = append(r.fresh, r.tasks[i])
	}
	return nil
}

// known reports whether a task is journaled, has a result in the outbox,
// or finished recently: a delivery of it is a redelivery.
func (j *Journal) known(id funcx.TaskID) bool {
	if _, ok := j.idx.pending[id]; ok {
		return true
	}
	if _, ok := j.idx.outbox[id]; ok {
		return true
	}
	_, ok := j.idx.done[id]
	return ok
}

// putResults moves each result's task from the task table to the outbox.
// A result whose task is not pending is dropped: its task already has a
// result (in the outbox or confirmed) or was never journaled.
func (j *Journal) putResults(w *writer, r *request, delta *Stats) error {
	x := &j.idx
	for i := range r.results {
		id := r.results[i].TaskID
		tseq, ok := x.pending[id]
		if !ok {
			delta.Orphans++
			continue
		}
		if err := w.tasks.Delete(w.key(tseq, id)); err != nil {
			return fmt.Errorf("delete task %s: %w", id, err)
		}
		seq := x.nextOutbox
		if err := w.outbox.Put(w.key(seq, id), r.recs[i]); err != nil {
			return fmt.Errorf("put result of task %s: %w", id, err)
		}
		x.nextOutbox++
		delete(x.pending, id)
		x.outbox[id] = seq
		r.stored++
	}
	return nil
}

// confirm removes published results from the outbox, or the tasks of
// results published and confirmed before they were recorded from the
// task table, and remembers their task IDs in the recently-done set. So
// does an ID in neither table that is not done already: a task the
// endpoint never journaled because its result was confirmed first.
func (j *Journal) confirm(w *writer, r *request) error {
	x := &j.idx
	var at []byte
	for _, id := range r.ids {
		if oseq, ok := x.outbox[id]; ok {
			if err := w.outbox.Delete(w.key(oseq, id)); err != nil {
				return fmt.Errorf("delete result of task %s: %w", id, err)
			}
			delete(x.outbox, id)
		} else if tseq, ok := x.pending[id]; ok {
			if err := w.tasks.Delete(w.key(tseq, id)); err != nil {
				return fmt.Errorf("delete task %s: %w", id, err)
			}
			delete(x.pending, id)
		} else if _, done := x.done[id]; done {
			continue
		}
		if at == nil {
			at = appendDone(nil, w.now)
		}
		seq := x.nextDone
		if err := w.done.Put(w.key(seq, id), at); err != nil {
			return fmt.Errorf("put done task %s: %w", id, err)
		}
		x.nextDone++
		x.done[id] = seq
		w.confirmed = true
	}
	return nil
}

// evictDone drops the oldest recently-done entries beyond DoneLimit or
// older than DoneTTL. Sequence order is confirmation order, so both bounds
// only ever trim the front of the table.
func (j *Journal) evictDone(tx *bbolt.Tx) (int, error) {
	x := &j.idx
	cutoff := j.opts.Clock().Add(-j.opts.DoneTTL)
	c := tx.Bucket(tableDone).Cursor()
	n := 0
	for k, v := c.First(); k != nil; k, v = c.First() {
		id, at, err := decodeDone(k, v)
		// A damaged entry is evicted like an old one: it only ever
		// served to drop redeliveries.
		if err == nil && len(x.done) <= j.opts.DoneLimit && !at.Before(cutoff) {
			break
		}
		seq := seqOf(k) // k is not to be read once deleted
		if err := c.Delete(); err != nil {
			return n, fmt.Errorf("evict done task %s: %w", id, err)
		}
		// Only the index entry that points at this record: a damaged
		// key yields a zero ID that matches nothing.
		if s, ok := x.done[id]; ok && s == seq {
			delete(x.done, id)
		}
		n++
	}
	return n, nil
}

func seqOf(k []byte) uint64 {
	seq, _, _ := splitKey(k)
	return seq
}
