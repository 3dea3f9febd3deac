package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/interchange/interchangetest"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/worker"
)

// Shape of the dispatch measurement. The fake managers announce more
// capacity than a frame holds, so that the interchange sends full frames
// of BatchSize tasks and its own flow control, not the managers', is what
// is measured.
const (
	dispatchBatch    = interchange.DefaultBatchSize
	fakeWorkers      = 64
	fakePrefetch     = 4 * dispatchBatch
	fakeCapacity     = fakeWorkers + fakePrefetch
	dispatchSecret   = "bench-secret"
	dispatchDeadline = 2 * time.Minute // a round that takes longer is a hang
)

// noopTask is the task every zero-work measurement sends.
func noopTask() funcx.Task { return funcx.Task{Function: funcx.GoFunc(worker.NameNoop)} }

// dispatchRound pushes n no-op tasks through a fresh interchange to
// `managers` fake managers that answer at once, and returns tasks/s from
// the first Submit to the last result. A fresh interchange per round
// keeps rounds independent (the fakes also keep every task they receive,
// which is freed with them).
func dispatchRound(ctx context.Context, managers, n int) (result float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, dispatchDeadline)
	defer cancel()
	ix, err := interchange.New(interchange.Config{Secret: dispatchSecret, BatchSize: dispatchBatch})
	if err != nil {
		return 0, err
	}
	if err := ix.Start(ctx); err != nil {
		return 0, err
	}
	var fakes []*interchangetest.FakeManager
	defer func() {
		// The interchange first: it tells the fakes to shut down, so they
		// end without counting as lost managers.
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if serr := ix.Stop(sctx); serr != nil && err == nil {
			err = fmt.Errorf("stop interchange: %w", serr)
		}
		for range ix.Results() { // closed once its goroutines ended
		}
		for _, f := range fakes {
			f.Close()
		}
	}()
	for range managers {
		f, err := interchangetest.Dial(interchangetest.FakeManagerConfig{
			Addr: ix.Addr().String(), Secret: dispatchSecret, Workers: fakeWorkers, Prefetch: fakePrefetch, CountOnly: true,
		})
		if err != nil {
			return 0, fmt.Errorf("connect fake manager: %w", err)
		}
		fakes = append(fakes, f)
	}

	tr := newTracker(n)
	start := time.Now()
	submitErr := make(chan error, 1)
	go func() {
		// One batch slice, re-stamped: building 500,000 tasks up front
		// would measure the allocator and hold memory through the run.
		// Submit copies the tasks into its queue, so reuse is safe.
		batch := make([]funcx.Task, dispatchBatch)
		for i := range batch {
			batch[i] = noopTask()
		}
		for sent := 0; sent < n; sent += dispatchBatch {
			b := batch[:min(dispatchBatch, n-sent)]
			tr.stamp(b, sent)
			if err := ix.Submit(b...); err != nil {
				submitErr <- err
				return
			}
		}
		submitErr <- nil
	}()
	for !tr.done() {
		select {
		case rs := <-ix.Results():
			for i := range rs {
				if err := tr.mark(rs[i].TaskID); err != nil {
					return 0, err
				}
				if err := checkResult(&rs[i]); err != nil {
					return 0, err
				}
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("interchange dispatch: %w after %d of %d results; stats %+v",
				ctx.Err(), tr.got, n, ix.Stats().Counters)
		}
	}
	elapsed := time.Since(start)
	if err := <-submitErr; err != nil {
		return 0, fmt.Errorf("submit: %w", err)
	}
	return rate(n, elapsed), nil
}

// rawEchoRound is the floor under dispatchRound: the same n tasks in
// frames of the same size, encoded and decoded with the same wire codec
// over loopback TCP, answered by an echo loop that does what a fake
// manager does, with the same window of tasks in flight per connection.
// What it leaves out is the interchange itself: queueing, routing,
// in-flight bookkeeping, result delivery. One goroutine pair (a writer and
// a reader) per connection, and as many connections as managers, so that
// both sides have the same parallelism.
func rawEchoRound(ctx context.Context, conns, n int) (result float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, dispatchDeadline)
	defer cancel()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		mu       sync.Mutex
		open     []net.Conn
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	track := func(c net.Conn) {
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
	}
	closeAll := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	}
	defer closeAll()
	// Cancellation (an error, a deadline, Ctrl-C) closes every connection,
	// which unblocks every goroutine below.
	defer context.AfterFunc(ctx, closeAll)()

	wg.Go(func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("accept: %w", err))
				}
				return
			}
			track(c)
			wg.Go(func() {
				if err := echoLoop(c); err != nil && ctx.Err() == nil {
					fail(err)
				}
			})
		}
	})
	var d net.Dialer
	clients := make([]net.Conn, 0, conns)
	for range conns {
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			cancel()
			wg.Wait()
			return 0, fmt.Errorf("dial: %w", err)
		}
		track(c)
		clients = append(clients, c)
	}

	start := time.Now()
	for i, c := range clients {
		share := n/conns + btoi(i < n%conns)
		wg.Go(func() {
			if err := echoClient(ctx, c, share); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, fmt.Errorf("raw TCP echo: %w", firstErr)
	}
	return rate(n, elapsed), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// echoClient sends n tasks on c in frames of dispatchBatch, never more
// than fakeCapacity in flight, and reads their results back. It closes
// c's write side at the end so that the echo loop sees EOF.
func echoClient(ctx context.Context, c net.Conn, n int) error {
	tr := newTracker(n)
	// One credit per frame in flight: the window a fake manager's
	// capacity gives the interchange.
	credits := make(chan struct{}, max(1, fakeCapacity/dispatchBatch))
	readErr := make(chan error, 1)
	go func() {
		r := wire.NewReader(c, 0)
		for !tr.done() {
			typ, p, err := r.ReadFrame()
			if err != nil {
				readErr <- fmt.Errorf("read results: %w", err)
				return
			}
			if typ != wire.MsgResults {
				readErr <- fmt.Errorf("unexpected %s frame", typ)
				return
			}
			rs, err := wire.DecodeResults(p)
			if err != nil {
				readErr <- err
				return
			}
			for i := range rs {
				if err := tr.mark(rs[i].TaskID); err != nil {
					readErr <- err
					return
				}
			}
			<-credits
		}
		readErr <- nil
	}()

	w := wire.NewWriter(c, 0)
	batch := make([]funcx.Task, dispatchBatch)
	for i := range batch {
		batch[i] = noopTask()
	}
	var buf []byte
	var err error
	for sent := 0; sent < n && err == nil; sent += dispatchBatch {
		select {
		case credits <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			continue
		}
		b := batch[:min(dispatchBatch, n-sent)]
		tr.stamp(b, sent)
		buf = wire.AppendTasks(buf[:0], b)
		if err = w.WriteFrame(wire.MsgTasks, buf); err == nil {
			err = w.Flush()
		}
	}
	if err != nil {
		c.Close() // unblocks the reader
		<-readErr
		return fmt.Errorf("send tasks: %w", err)
	}
	if err := <-readErr; err != nil {
		c.Close()
		return err
	}
	return c.(*net.TCPConn).CloseWrite()
}

// echoLoop answers every task frame on c the way a FakeManager does: a
// success result carrying the task's arguments, one results frame per
// tasks frame, flushed at once. It returns nil at EOF.
func echoLoop(c net.Conn) error {
	defer c.Close()
	r := wire.NewReader(c, 0)
	w := wire.NewWriter(c, 0)
	var buf []byte
	for {
		typ, p, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("echo: read: %w", err)
		}
		if typ != wire.MsgTasks {
			return fmt.Errorf("echo: unexpected %s frame", typ)
		}
		tasks, err := wire.DecodeTasks(p)
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		// A fresh slice per frame, as the fake manager makes: the floor
		// should not be cheaper for want of the same allocations.
		results := make([]funcx.Result, 0, len(tasks))
		for i := range tasks {
			t := &tasks[i]
			results = append(results, funcx.Result{TaskID: t.ID, State: funcx.StateSuccess, Output: t.Args, Attempt: t.Attempt})
		}
		buf = wire.AppendResults(buf[:0], results)
		if err := w.WriteFrame(wire.MsgResults, buf); err != nil {
			return fmt.Errorf("echo: write: %w", err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("echo: write: %w", err)
		}
	}
}
