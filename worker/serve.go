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
//  2. for each Tasks frame it runs the tasks in order and answers with one
//     Results frame holding exactly one result per task, in task order.
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
		r:    wire.NewReader(conn, cfg.MaxFrame),
		w:    wire.NewWriter(conn, cfg.MaxFrame),
		in:   newInbox(),
	}
	return s.serve(ctx)
}

// server is the state of one Serve call.
type server struct {
	cfg  Config
	log  *slog.Logger
	reg  *Registry
	conn net.Conn
	r    *wire.Reader // used by readLoop only
	w    *wire.Writer // used by the serve loop only
	in   *inbox
	// paths spares shell tasks the PATH search (see pathCache).
	paths pathCache

	buf     []byte         // reused for encoding frames
	results []funcx.Result // reused for each batch
}

func (s *server) serve(ctx context.Context) error {
	sctx, stop := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop(errServeDone)
		s.conn.Close() // unblocks readLoop
		wg.Wait()
	}()
	if err := s.sendReady(); err != nil {
		return fmt.Errorf("send ready frame: %w", err)
	}
	wg.Go(func() { s.readLoop(sctx, stop) })
	for {
		batch, ok := s.in.pop()
		if !ok {
			select {
			case <-s.in.ready:
				continue
			case <-sctx.Done():
				return s.finish(ctx, sctx)
			}
		}
		if err := s.runBatch(sctx, batch); err != nil {
			return err
		}
	}
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
		case wire.MsgShutdown:
			stop(errShutdown)
			return
		default:
			stop(fmt.Errorf("unexpected %s frame from manager: a worker accepts only tasks and shutdown", typ))
			return
		}
	}
}

// finish answers the batches still queued with Cancelled results (unless
// the manager is gone) and says why Serve stops.
func (s *server) finish(ctx, sctx context.Context) error {
	cause := context.Cause(sctx)
	if !connGone(cause) {
		for batch, ok := s.in.pop(); ok; batch, ok = s.in.pop() {
			if err := s.runBatch(sctx, batch); err != nil {
				break // best effort: the reason we stop matters more
			}
		}
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

// runBatch runs the tasks of one Tasks frame and sends their results.
// Once sctx is done the remaining tasks are not started: they are answered
// as Cancelled, so the manager still gets one result per task.
func (s *server) runBatch(sctx context.Context, batch []funcx.Task) error {
	results := s.results[:0]
	for i := range batch {
		if sctx.Err() != nil {
			results = append(results, s.cancelled(sctx, &batch[i]))
			continue
		}
		results = append(results, s.run(sctx, &batch[i]))
	}
	err := s.sendResults(results)
	clear(results) // drop outputs now rather than at the next batch
	s.results = results[:0]
	if err != nil && !connGone(err) && !connGone(context.Cause(sctx)) {
		return fmt.Errorf("send results of %d tasks: %w", len(batch), err)
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
	s.buf = wire.AppendReady(s.buf[:0], &wire.Ready{
		Worker:    s.cfg.WorkerID,
		PID:       os.Getpid(),
		Hostname:  host,
		Container: s.cfg.Container,
	})
	return s.flushFrame(wire.MsgReady)
}

// maxKeptBuffer bounds the encoding buffer kept between frames, so that one
// huge result does not pin its memory for the worker's life.
const maxKeptBuffer = 1 << 20

func (s *server) sendResults(results []funcx.Result) error {
	s.buf = wire.AppendResults(s.buf[:0], results)
	if len(s.buf)+1 > s.w.MaxFrame() {
		s.shrink(results)
		s.buf = wire.AppendResults(s.buf[:0], results)
	}
	err := s.flushFrame(wire.MsgResults)
	if cap(s.buf) > maxKeptBuffer {
		s.buf = nil
	}
	return err
}

// shrink replaces the results too large for one frame by ResultTooLarge
// failures. Each result gets an equal share of the frame, so the batch fits
// whatever its mix.
func (s *server) shrink(results []funcx.Result) {
	share := (s.w.MaxFrame()-64)/len(results) - 16
	for i := range results {
		r := &results[i]
		size := len(wire.AppendResults(nil, results[i:i+1]))
		if size <= share {
			continue
		}
		s.log.Warn("result too large for a frame", "task", r.TaskID, "bytes", size, "max_frame", s.w.MaxFrame())
		r.State = funcx.StateFailed
		r.Output, r.Stdout, r.Stderr = nil, nil, nil
		r.Error = funcx.Errorf(funcx.ResultTooLarge,
			"result of %d bytes exceeds this worker's share of the %d-byte frame limit", size, s.w.MaxFrame())
	}
}

func (s *server) flushFrame(typ wire.MsgType) error {
	if err := s.w.WriteFrame(typ, s.buf); err != nil {
		return err
	}
	return s.w.Flush()
}

// connGone reports whether err means the other end of the connection is
// gone (or we closed it), rather than that it sent something wrong.
func connGone(err error) bool {
	return errors.Is(err, errConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}
