package worker

import (
	"log/slog"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// flushAfter bounds how long a finished task's result may wait in the
// outbox while the worker runs the next queued task: results of short
// tasks go out together, and a long task does not hold back the results
// of those before it.
const flushAfter = time.Millisecond

// maxPending flushes the outbox at this many results whatever their age.
const maxPending = 256

// outbox writes the worker's frames to its manager. Results are sent at
// once when no task waits in the inbox (the manager is waiting for them),
// and otherwise coalesced for at most flushAfter, so that a run of short
// queued tasks costs the manager one frame rather than one per task.
// Both the serve loop and the reader (answering a reclaim) write through
// it; mu serializes them.
type outbox struct {
	log *slog.Logger
	mu  sync.Mutex
	w   *wire.Writer

	pending []funcx.Result
	timer   *time.Timer // flushes pending after flushAfter; nil until first armed
	armed   bool
	stopped bool  // stop was called: the timer must not write any more
	err     error // the first write error; every later send returns it
	buf     []byte
}

func newOutbox(w *wire.Writer, log *slog.Logger) *outbox { return &outbox{w: w, log: log} }

// addResult queues r, and sends the queue now if now is set.
func (o *outbox) addResult(r funcx.Result, now bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, r)
	if now || len(o.pending) >= maxPending {
		return o.flushLocked()
	}
	if !o.armed {
		o.armed = true
		if o.timer == nil {
			o.timer = time.AfterFunc(flushAfter, o.timerFlush)
		} else {
			o.timer.Reset(flushAfter)
		}
	}
	return o.err
}

func (o *outbox) timerFlush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.stopped {
		_ = o.flushLocked() // a failed write is returned by the next send
	}
}

// flush sends the queued results, if any.
func (o *outbox) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

func (o *outbox) flushLocked() error {
	o.armed = false
	if len(o.pending) == 0 || o.err != nil {
		return o.err
	}
	o.buf = wire.AppendResults(o.buf[:0], o.pending)
	if len(o.buf)+1 <= o.w.MaxFrame() {
		o.err = o.frameLocked(wire.MsgResults, o.buf)
	} else {
		o.err = o.writeSplitLocked()
	}
	clear(o.pending) // drop outputs now rather than at the next batch
	o.pending = o.pending[:0]
	if cap(o.buf) > maxKeptBuffer {
		o.buf = nil
	}
	return o.err
}

// writeSplitLocked sends pending results too large for one frame together
// in several frames; a result too large for a frame of its own becomes a
// ResultTooLarge failure.
func (o *outbox) writeSplitLocked() error {
	maxFrame := o.w.MaxFrame()
	from, size := 0, 0
	for i := range o.pending {
		n := len(wire.AppendResults(nil, o.pending[i:i+1]))
		if n+1 > maxFrame {
			tooLarge(o.log, &o.pending[i], n, maxFrame)
			n = len(wire.AppendResults(nil, o.pending[i:i+1]))
		}
		if i > from && size+n+1 > maxFrame {
			if err := o.writeResultsLocked(o.pending[from:i]); err != nil {
				return err
			}
			from, size = i, 0
		}
		size += n // one result's own encoding bounds its share in a batch
	}
	return o.writeResultsLocked(o.pending[from:])
}

func (o *outbox) writeResultsLocked(rs []funcx.Result) error {
	o.buf = wire.AppendResults(o.buf[:0], rs)
	return o.frameLocked(wire.MsgResults, o.buf)
}

// send writes one frame at once, after the queued results.
func (o *outbox) send(typ wire.MsgType, payload []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.flushLocked(); err != nil {
		return err
	}
	o.err = o.frameLocked(typ, payload)
	return o.err
}

func (o *outbox) frameLocked(typ wire.MsgType, payload []byte) error {
	if err := o.w.WriteFrame(typ, payload); err != nil {
		return err
	}
	return o.w.Flush()
}

// stop flushes what is queued and disarms the timer; nothing is written
// after it returns.
func (o *outbox) stop() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.flushLocked()
	o.stopped = true
	if o.timer != nil {
		o.timer.Stop()
	}
	return err
}

// maxKeptBuffer bounds the encoding buffer kept between frames, so that one
// huge result does not pin its memory for the worker's life.
const maxKeptBuffer = 1 << 20

// tooLarge replaces a result too large for any frame by a ResultTooLarge
// failure.
func tooLarge(log *slog.Logger, r *funcx.Result, size, maxFrame int) {
	log.Warn("result too large for a frame", "task", r.TaskID, "bytes", size, "max_frame", maxFrame)
	r.State = funcx.StateFailed
	r.Output, r.Stdout, r.Stderr = nil, nil, nil
	r.Error = funcx.Errorf(funcx.ResultTooLarge,
		"result of %d bytes exceeds the %d-byte frame limit between worker and manager", size, maxFrame)
}
