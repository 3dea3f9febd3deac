package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/python"
	"github.com/funcx-go/funcx/internal/rawio"
	"github.com/funcx-go/funcx/internal/wire"
)

// Causes that end Serve cleanly.
var (
	errShutdown   = errors.New("manager sent shutdown")
	errConnClosed = errors.New("manager closed the connection")
	errServeDone  = errors.New("worker stopped")
)

// Serve speaks the worker protocol on conn, the worker's end of the
// connection to its manager, and runs the tasks it receives one at a time:
//
//  1. it sends a Ready frame (worker ID, PID, hostname, container type);
//  2. it runs the tasks of Tasks frames one at a time, in the order they
//     came, and sends exactly one result per task in that order, in
//     Results frames: at once when no task waits, else coalesced for at
//     most a millisecond (see outbox);
//  3. a Reclaim frame takes back every task that waits and was not started:
//     Serve answers with a Return frame of their IDs (possibly none), and
//     sends no result for them.
//
// The connection is read all the time, also while a task runs, so that
// Serve reacts at once when the manager goes away. Serve returns
//
//   - nil when the manager sends Shutdown or closes the connection; the
//     task in flight is cancelled (its process group killed) and, after a
//     Shutdown, answered with a funcx.Cancelled result;
//   - ctx's error when ctx is done, after cancelling the task in flight the
//     same way;
//   - an error when the protocol breaks: an unexpected or malformed frame,
//     or a failed write.
//
// Serve owns conn: it closes it before returning, and has stopped every
// goroutine and process it started by then (except a Go function that
// ignores its context past Config.CancelGrace, which it abandons).
func Serve(ctx context.Context, conn net.Conn, cfg Config) error {
	if err := cfg.validate(); err != nil {
		conn.Close()
		return err
	}
	cfg = cfg.withDefaults()
	s := &server{
		cfg:  cfg,
		log:  cfg.Logger.With("worker", cfg.WorkerID),
		reg:  cfg.Registry,
		conn: conn,
		r:    wire.NewReader(rawio.Reader(conn), cfg.MaxFrame),
		in:   newInbox(),
	}
	s.out = newOutbox(wire.NewWriter(rawio.Writer(conn), cfg.MaxFrame), s.log)
	return s.serve(ctx)
}

// server is the state of one Serve call.
type server struct {
	cfg  Config
	log  *slog.Logger
	reg  *Registry
	conn net.Conn
	r    *wire.Reader // used by readLoop only
	out  *outbox
	in   *inbox
	// paths spares shell tasks the PATH search (see pathCache).
	paths pathCache
	// py is the interpreter of Python tasks, nil until the first one (and
	// after one killed it).
	py *python.Interpreter
	// next are tasks taken from the inbox before their turn so that their
	// Python calls could be sent to the interpreter early (see
	// sendAhead); they run before the inbox's, in order, and a Reclaim
	// does not take them back. sent holds the calls sent, by task.
	next []funcx.Task
	sent map[funcx.TaskID]*python.Pending
	// procs is GOMAXPROCS as it was before Python tasks narrowed it to
	// one (see procs.go); zero when not narrowed.
	procs int
}

func (s *server) serve(ctx context.Context) error {
	sctx, stop := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop(errServeDone)
		s.stopPython() // no call runs: tasks run on this goroutine
		s.restoreProcs()
		s.out.stop()   // results of finished tasks go out; the timer is off
		s.conn.Close() // unblocks readLoop
		wg.Wait()
	}()
	if err := s.sendReady(); err != nil {
		return fmt.Errorf("send ready frame: %w", err)
	}
	wg.Go(func() { s.readLoop(sctx, stop) })
	for {
		t, ok, more := s.pop()
		if !ok {
			select {
			case <-s.in.ready:
				continue
			case <-sctx.Done():
				return s.finish(ctx, sctx)
			}
		}
		var r funcx.Result
		if sctx.Err() != nil {
			r = s.cancelled(sctx, &t)
		} else {
			r = s.run(sctx, &t)
		}
		// A task that came while this one ran counts as waiting too.
		if err := s.sendResult(sctx, r, !more && s.in.empty() && len(s.next) == 0); err != nil {
			return err
		}
	}
}

// pop takes the next task to run: those taken ahead first, then the
// inbox's; more reports whether others wait.
func (s *server) pop() (t funcx.Task, ok, more bool) {
	if len(s.next) == 0 {
		return s.in.pop()
	}
	t = s.next[0]
	s.next[0] = funcx.Task{}
	s.next = s.next[1:]
	return t, true, len(s.next) > 0 || !s.in.empty()
}

// readLoop reads frames until the connection ends or a frame ends the
// worker; the reason becomes the cause of stop.
func (s *server) readLoop(ctx context.Context, stop context.CancelCauseFunc) {
	for {
		typ, p, err := s.r.ReadFrame()
		if err != nil {
			switch {
			case ctx.Err() != nil: // Serve is returning and closed conn
			case connGone(err):
				stop(errConnClosed)
			default:
				stop(fmt.Errorf("read frame from manager: %w", err))
			}
			return
		}
		switch typ {
		case wire.MsgTasks:
			tasks, err := wire.DecodeTasks(p)
			if err != nil {
				stop(fmt.Errorf("decode tasks frame from manager: %w", err))
				return
			}
			s.in.push(tasks)
		case wire.MsgReclaim:
			ids := s.in.takeAll()
			if err := s.out.send(wire.MsgReturn, wire.AppendTaskIDs(nil, ids)); err != nil {
				if !connGone(err) {
					err = fmt.Errorf("hand back %d tasks: %w", len(ids), err)
				}
				stop(err)
				return
			}
		case wire.MsgShutdown:
			stop(errShutdown)
			return
		default:
			stop(fmt.Errorf("unexpected %s frame from manager: a worker accepts only tasks, reclaim and shutdown", typ))
			return
		}
	}
}

// finish answers the tasks still queued with Cancelled results (unless
// the manager is gone) and says why Serve stops.
func (s *server) finish(ctx, sctx context.Context) error {
	cause := context.Cause(sctx)
	if !connGone(cause) {
		for t, ok, _ := s.pop(); ok; t, ok, _ = s.pop() {
			if err := s.sendResult(sctx, s.cancelled(sctx, &t), false); err != nil {
				break // best effort: the reason we stop matters more
			}
		}
		_ = s.out.flush()
	}
	switch {
	case ctx.Err() != nil:
		s.log.Info("worker stopping: context done", "cause", context.Cause(ctx))
		return ctx.Err()
	case errors.Is(cause, errShutdown), errors.Is(cause, errConnClosed):
		s.log.Info("worker stopping", "reason", cause)
		return nil
	default:
		return cause // the caller reports it: Main on stderr
	}
}

// sendResult queues a task's result, sending at once if now.
func (s *server) sendResult(sctx context.Context, r funcx.Result, now bool) error {
	err := s.out.addResult(r, now)
	if err != nil && !connGone(err) && !connGone(context.Cause(sctx)) {
		return fmt.Errorf("send the result of task %s: %w", r.TaskID, err)
	}
	return nil // a vanished manager is seen by readLoop, which stops sctx
}

// cancelled is the result of a task that was never started because the
// worker is stopping.
func (s *server) cancelled(sctx context.Context, t *funcx.Task) funcx.Result {
	r := funcx.FailedResult(t, funcx.Errorf(funcx.Cancelled, "not started: %v", context.Cause(sctx)), time.Now())
	r.Worker = s.cfg.WorkerID
	r.ExitCode = -1
	return r
}

func (s *server) sendReady() error {
	host, err := os.Hostname()
	if err != nil {
		s.log.Warn("cannot read the hostname for the ready frame", "err", err)
	}
	return s.out.send(wire.MsgReady, wire.AppendReady(nil, &wire.Ready{
		Worker:    s.cfg.WorkerID,
		PID:       os.Getpid(),
		Hostname:  host,
		Container: s.cfg.Container,
	}))
}

// connGone reports whether err means the other end of the connection is
// gone (or we closed it), rather than that it sent something wrong.
func connGone(err error) bool {
	return errors.Is(err, errConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
