// Package workertest runs workers for tests the way a manager does: in
// the test's own process over net.Pipe (Serve), or as a child process over
// a socketpair passed as descriptor 3 (Start), and speaks the manager's
// side of the protocol (Conn).
package workertest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/worker"
)

// DefaultTimeout bounds each read of a Conn, so that a broken worker fails
// a test instead of hanging it.
const DefaultTimeout = 30 * time.Second

// Conn is the manager's end of a worker connection.
type Conn struct {
	conn net.Conn
	r    *wire.Reader
	w    *wire.Writer
	// early holds results read while waiting for another frame (Reclaim),
	// for the next Recv.
	early []funcx.Result
	// Timeout bounds each read; zero or less means no bound (benchmarks
	// save the timer). NewConn sets DefaultTimeout.
	Timeout time.Duration
}

// NewConn wraps the manager's end of a connection to a worker.
func NewConn(c net.Conn) *Conn {
	return &Conn{conn: c, r: wire.NewReader(c, 0), w: wire.NewWriter(c, 0), Timeout: DefaultTimeout}
}

// ReadReady reads the Ready frame a worker sends first.
func (c *Conn) ReadReady() (wire.Ready, error) {
	p, err := c.expect(wire.MsgReady)
	if err != nil {
		return wire.Ready{}, err
	}
	return wire.DecodeReady(p)
}

// Send sends one Tasks frame.
func (c *Conn) Send(tasks ...funcx.Task) error {
	return c.WriteFrame(wire.MsgTasks, wire.AppendTasks(nil, tasks))
}

// Recv returns the next results the worker sent: one Results frame's, or
// those a Reclaim read past.
func (c *Conn) Recv() ([]funcx.Result, error) {
	if rs := c.early; rs != nil {
		c.early = nil
		return rs, nil
	}
	p, err := c.expect(wire.MsgResults)
	if err != nil {
		return nil, err
	}
	return wire.DecodeResults(p)
}

// RecvN reads results until it has n: a worker sends one per task, in
// Results frames that may hold several tasks' results or one.
func (c *Conn) RecvN(n int) ([]funcx.Result, error) {
	var out []funcx.Result
	for len(out) < n {
		rs, err := c.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
	}
	if len(out) > n {
		c.early = out[n:]
		out = out[:n:n]
	}
	return out, nil
}

// Run sends the tasks as one frame and returns their results.
func (c *Conn) Run(tasks ...funcx.Task) ([]funcx.Result, error) {
	if err := c.Send(tasks...); err != nil {
		return nil, err
	}
	return c.RecvN(len(tasks))
}

// Reclaim asks the worker to hand back the tasks it has not started and
// returns their IDs. Results that arrive first are kept for Recv.
func (c *Conn) Reclaim() ([]funcx.TaskID, error) {
	if err := c.WriteFrame(wire.MsgReclaim, nil); err != nil {
		return nil, err
	}
	for {
		typ, p, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("read return frame: %w", err)
		}
		switch typ {
		case wire.MsgReturn:
			return wire.DecodeTaskIDs(p)
		case wire.MsgResults:
			rs, err := wire.DecodeResults(p)
			if err != nil {
				return nil, err
			}
			c.early = append(c.early, rs...)
		default:
			return nil, fmt.Errorf("read return frame: got a %s frame", typ)
		}
	}
}

// Shutdown sends a Shutdown frame.
func (c *Conn) Shutdown() error { return c.WriteFrame(wire.MsgShutdown, nil) }

// WriteFrame sends any frame, valid or not.
func (c *Conn) WriteFrame(typ wire.MsgType, payload []byte) error {
	if err := c.w.WriteFrame(typ, payload); err != nil {
		return fmt.Errorf("write %s frame: %w", typ, err)
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("flush %s frame: %w", typ, err)
	}
	return nil
}

// Close closes the connection: the worker sees EOF.
func (c *Conn) Close() error { return c.conn.Close() }

func (c *Conn) expect(want wire.MsgType) ([]byte, error) {
	typ, p, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("read %s frame: %w", want, err)
	}
	if typ != want {
		return nil, fmt.Errorf("read %s frame: got a %s frame", want, typ)
	}
	return p, nil
}

// read reads one frame within Timeout.
func (c *Conn) read() (wire.MsgType, []byte, error) {
	// An unbounded read clears the deadline an earlier bounded read left,
	// so that setting Timeout to zero after ReadReady really unbounds.
	var deadline time.Time
	if c.Timeout > 0 {
		deadline = time.Now().Add(c.Timeout)
	}
	if err := c.conn.SetReadDeadline(deadline); err != nil {
		return 0, nil, fmt.Errorf("set read deadline: %w", err)
	}
	return c.r.ReadFrame()
}

// Serve runs worker.Serve in this process over net.Pipe and returns the
// manager's end, after reading the Ready frame (into Ready), and a channel
// that receives Serve's error. Cleanup closes the connection and waits for
// Serve to return.
func Serve(tb testing.TB, cfg worker.Config) (c *Conn, ready wire.Ready, done <-chan error) {
	tb.Helper()
	managerEnd, workerEnd := net.Pipe()
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { errc <- worker.Serve(ctx, workerEnd, cfg) }()
	var once sync.Once
	var serveErr error
	wait := func() error {
		once.Do(func() { serveErr = <-errc })
		return serveErr
	}
	tb.Cleanup(func() {
		managerEnd.Close()
		cancel()
		wait()
	})
	c = NewConn(managerEnd)
	ready, err := c.ReadReady()
	if err != nil {
		tb.Fatalf("workertest: %v", err)
	}
	out := make(chan error, 1)
	go func() { out <- wait() }()
	return c, ready, out
}

// Process is a worker process started by Start.
type Process struct {
	*Conn
	Cmd   *exec.Cmd
	Ready wire.Ready
	// Stderr collects the process's standard error.
	Stderr *SyncBuffer
}

// Start starts cmd as worker workerID the way a manager does: with
// FUNCX_ROLE=worker, FUNCX_WORKER_ID and one end of a unix socketpair as
// descriptor 3 (FUNCX_WORKER_FD=3), then reads its Ready frame. cmd.Env,
// if set, is kept and extended. Cleanup closes the connection and waits
// for the process to exit, killing it if it does not within Timeout.
func Start(tb testing.TB, cmd *exec.Cmd, workerID int) *Process {
	tb.Helper()
	managerEnd, workerEnd, err := Socketpair()
	if err != nil {
		tb.Fatalf("workertest: %v", err)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, worker.EnvRole+"="+worker.RoleWorker,
		worker.EnvWorkerID+"="+strconv.Itoa(workerID), worker.EnvFD+"=3")
	cmd.ExtraFiles = []*os.File{workerEnd}
	p := &Process{Cmd: cmd, Stderr: &SyncBuffer{}}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Stderr
	}
	err = cmd.Start()
	workerEnd.Close()
	if err != nil {
		managerEnd.Close()
		tb.Fatalf("workertest: start worker %s: %v", cmd.Path, err)
	}
	p.Conn = NewConn(managerEnd)
	tb.Cleanup(func() {
		p.Conn.Close()
		if err := p.Wait(); err != nil {
			tb.Logf("workertest: worker %s: %v; stderr:\n%s", cmd.Path, err, p.Stderr)
		}
	})
	if p.Ready, err = p.ReadReady(); err != nil {
		tb.Fatalf("workertest: worker %s: %v; stderr:\n%s", cmd.Path, err, p.Stderr)
	}
	return p
}

// Wait waits for the process to exit, killing it past Timeout.
func (p *Process) Wait() error {
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(cmp.Or(max(p.Timeout, 0), DefaultTimeout)):
		p.Cmd.Process.Kill()
		return errors.Join(errors.New("did not exit: killed"), <-done)
	}
}

// Socketpair returns the two ends of a connected unix stream socket: the
// manager's as a net.Conn and the worker's as a file to pass in
// exec.Cmd.ExtraFiles (and close after Start).
func Socketpair() (net.Conn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create socketpair: %w", err)
	}
	mf := os.NewFile(uintptr(fds[0]), "manager-end")
	defer mf.Close()
	c, err := net.FileConn(mf)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("wrap socketpair: %w", err)
	}
	return c, os.NewFile(uintptr(fds[1]), "worker-end"), nil
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
