// Package interchangetest provides a fake manager that speaks the
// interchange's wire protocol without running any worker: it answers each
// task at once, as the caller decides. It is for tests and benchmarks of
// the interchange and of code built on it.
package interchangetest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// FakeManagerConfig configures a FakeManager.
type FakeManagerConfig struct {
	Addr   string
	Secret string
	// ID defaults to a random name.
	ID string
	// Workers and Prefetch make up the capacity announced. Workers
	// defaults to 1; a negative value announces 0.
	Workers, Prefetch int
	// Version defaults to wire.ProtocolVersion.
	Version int
	// Types are the container types announced.
	Types []string
	// Answer turns a task into its result; nil answers success with the
	// task's arguments as output. Returning false holds the task: no
	// result is sent (a task stuck on the manager).
	Answer func(t *funcx.Task) (funcx.Result, bool)
	// Silent stops heartbeats, so the interchange declares the manager
	// lost after its threshold.
	Silent bool
	// CountOnly keeps a count of the tasks received instead of the tasks
	// themselves, so that a long benchmark measures the interchange, not
	// the fake's growing slice. Received then returns nil.
	CountOnly bool
}

// FakeManager is a connected fake manager.
type FakeManager struct {
	cfg     FakeManagerConfig
	conn    net.Conn
	w       *wire.Writer
	wmu     sync.Mutex
	Welcome wire.Welcome

	mu       sync.Mutex
	received []funcx.Task
	count    int
	done     chan struct{}
	err      error
	wg       sync.WaitGroup
}

// Dial connects, says hello and starts answering tasks. A refusal is
// returned as an error carrying the interchange's reason.
func Dial(cfg FakeManagerConfig) (*FakeManager, error) {
	if cfg.ID == "" {
		cfg.ID = "fake-" + funcx.NewTaskID().String()[:8]
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	cfg.Workers = max(cfg.Workers, 0)
	if cfg.Version == 0 {
		cfg.Version = wire.ProtocolVersion
	}
	conn, err := net.Dial("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	f := &FakeManager{cfg: cfg, conn: conn, w: wire.NewWriter(conn, 0), done: make(chan struct{})}
	r := wire.NewReader(conn, 0)
	hello := wire.Hello{Version: cfg.Version, Secret: cfg.Secret, ManagerID: cfg.ID, Hostname: "fakehost", BlockID: "fake-block",
		Workers: cfg.Workers, Prefetch: cfg.Prefetch, ContainerTypes: cfg.Types}
	if err := f.write(wire.MsgHello, wire.AppendHello(nil, &hello)); err != nil {
		conn.Close()
		return nil, err
	}
	typ, p, err := r.ReadFrame()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read welcome: %w", err)
	}
	switch typ {
	case wire.MsgRefused:
		conn.Close()
		return nil, fmt.Errorf("refused: %s", wire.DecodeText(p))
	case wire.MsgWelcome:
		if f.Welcome, err = wire.DecodeWelcome(p); err != nil {
			conn.Close()
			return nil, err
		}
	default:
		conn.Close()
		return nil, fmt.Errorf("unexpected %s", typ)
	}
	f.wg.Add(1)
	go f.readLoop(r)
	if !cfg.Silent {
		f.wg.Add(1)
		go f.heartbeats()
	}
	return f, nil
}

func (f *FakeManager) write(typ wire.MsgType, p []byte) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if err := f.w.WriteFrame(typ, p); err != nil {
		return err
	}
	return f.w.Flush()
}

func (f *FakeManager) heartbeats() {
	defer f.wg.Done()
	t := time.NewTicker(f.Welcome.HeartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-f.done:
			return
		case <-t.C:
			if f.write(wire.MsgHeartbeat, nil) != nil {
				return
			}
		}
	}
}

func (f *FakeManager) readLoop(r *wire.Reader) {
	defer f.wg.Done()
	defer close(f.done)
	var buf []byte
	for {
		typ, p, err := r.ReadFrame()
		if err != nil {
			f.setErr(err)
			return
		}
		switch typ {
		case wire.MsgTasks:
			tasks, err := wire.DecodeTasks(p)
			if err != nil {
				f.setErr(err)
				return
			}
			results := make([]funcx.Result, 0, len(tasks))
			for i := range tasks {
				r, ok := f.answer(&tasks[i])
				if ok {
					results = append(results, r)
				}
			}
			f.mu.Lock()
			f.count += len(tasks)
			if !f.cfg.CountOnly {
				f.received = append(f.received, tasks...)
			}
			f.mu.Unlock()
			if len(results) > 0 {
				buf = wire.AppendResults(buf[:0], results)
				if err := f.write(wire.MsgResults, buf); err != nil {
					f.setErr(err)
					return
				}
			}
		case wire.MsgShutdown:
			f.setErr(errors.New("shutdown by the interchange"))
			return
		}
	}
}

func (f *FakeManager) answer(t *funcx.Task) (funcx.Result, bool) {
	if f.cfg.Answer != nil {
		return f.cfg.Answer(t)
	}
	return funcx.Result{TaskID: t.ID, State: funcx.StateSuccess, Output: t.Args, Attempt: t.Attempt, Worker: 0}, true
}

func (f *FakeManager) setErr(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

// Send writes a raw frame, to test how the interchange treats it.
func (f *FakeManager) Send(typ wire.MsgType, payload []byte) error { return f.write(typ, payload) }

// SendResults sends results as if workers had produced them.
func (f *FakeManager) SendResults(rs ...funcx.Result) error {
	return f.write(wire.MsgResults, wire.AppendResults(nil, rs))
}

// Received returns the tasks received so far.
func (f *FakeManager) Received() []funcx.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]funcx.Task(nil), f.received...)
}

// ReceivedCount is how many tasks arrived so far.
func (f *FakeManager) ReceivedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// Done is closed when the connection has ended.
func (f *FakeManager) Done() <-chan struct{} { return f.done }

// Err says why the connection ended.
func (f *FakeManager) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Close drops the connection, as a killed manager would, and waits for the
// fake's goroutines.
func (f *FakeManager) Close() {
	_ = f.conn.Close()
	f.wg.Wait()
}
