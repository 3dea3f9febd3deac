package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/rawio"
	"github.com/funcx-go/funcx/internal/wire"
)

// ErrRefused is returned by Run when the interchange refuses the manager
// (wrong secret, protocol version, duplicate ID); the reason follows.
var ErrRefused = errors.New("manager: refused by the interchange")

// link is the manager's connection to the interchange: a reader goroutine
// that turns frames into events, and a writer goroutine that sends whatever
// results and control frames accumulated since its last flush as a batch.
type link struct {
	conn    net.Conn
	r       *wire.Reader
	w       *wire.Writer
	welcome wire.Welcome

	mu      sync.Mutex
	results []funcx.Result
	spare   []funcx.Result
	ctrl    []ctrlFrame
	wake    chan struct{}
	closed  chan struct{}
	once    sync.Once
	writeWG sync.WaitGroup
}

type ctrlFrame struct {
	typ     wire.MsgType
	payload []byte
}

// dial connects and authenticates, retrying refused or failed connections
// until cfg.HeartbeatThreshold passes: the interchange may still be coming
// up when a batch job starts. A refusal by the interchange is final.
func dial(ctx context.Context, cfg *Config, workers int) (*link, error) {
	deadline := time.Now().Add(cfg.HeartbeatThreshold)
	backoff := 100 * time.Millisecond
	for {
		l, err := tryDial(ctx, cfg, workers)
		if err == nil || errors.Is(err, ErrRefused) {
			return l, err
		}
		if time.Now().Add(backoff).After(deadline) {
			return nil, fmt.Errorf("manager: connect to interchange %s: gave up after %s: %w", cfg.InterchangeAddr, cfg.HeartbeatThreshold, err)
		}
		cfg.Logger.Debug("interchange not reachable yet; retrying", "addr", cfg.InterchangeAddr, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func tryDial(ctx context.Context, cfg *Config, workers int) (*link, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", cfg.InterchangeAddr)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	hello := wire.Hello{
		Version: wire.ProtocolVersion, Secret: cfg.Secret, ManagerID: cfg.ManagerID,
		Hostname: host, BlockID: cfg.BlockID, PID: os.Getpid(),
		Workers: workers, Prefetch: cfg.Prefetch,
		ContainerTypes: cfg.Container.Types,
	}
	if cfg.Walltime > 0 {
		hello.Deadline = time.Now().Add(cfg.Walltime)
	}
	l := &link{
		conn: conn, r: wire.NewReader(rawio.Reader(conn), cfg.MaxFrame), w: wire.NewWriter(rawio.Writer(conn), cfg.MaxFrame),
		wake: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := l.w.WriteFrame(wire.MsgHello, wire.AppendHello(nil, &hello)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send hello: %w", err)
	}
	if err := l.w.Flush(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send hello: %w", err)
	}
	typ, p, err := l.r.ReadFrame()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read welcome: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	switch typ {
	case wire.MsgWelcome:
		l.welcome, err = wire.DecodeWelcome(p)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return l, nil
	case wire.MsgRefused:
		conn.Close()
		return nil, fmt.Errorf("%w: %s", ErrRefused, wire.DecodeText(p))
	default:
		conn.Close()
		return nil, fmt.Errorf("expected welcome, got %s frame", typ)
	}
}

// linkEvent is what the reader reports to the manager's loop.
type linkEvent struct {
	tasks    []funcx.Task
	shutdown bool
	err      error // the link is gone
}

// readLoop reads frames until the link fails, sending events on ch. The
// interchange heartbeats every period, so silence past the threshold
// means it is gone.
func (l *link) readLoop(ch chan<- linkEvent, done <-chan struct{}) {
	send := func(ev linkEvent) bool {
		select {
		case ch <- ev:
			return true
		case <-done:
			return false
		}
	}
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(l.welcome.HeartbeatThreshold))
		typ, p, err := l.r.ReadFrame()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				err = fmt.Errorf("no heartbeat from the interchange for %s", l.welcome.HeartbeatThreshold)
			case errors.Is(err, io.EOF):
				err = errors.New("the interchange closed the connection")
			}
			send(linkEvent{err: err})
			return
		}
		switch typ {
		case wire.MsgHeartbeat:
		case wire.MsgTasks:
			tasks, err := wire.DecodeTasks(p)
			if err != nil {
				send(linkEvent{err: fmt.Errorf("bad tasks frame from the interchange: %w", err)})
				return
			}
			if !send(linkEvent{tasks: tasks}) {
				return
			}
		case wire.MsgShutdown:
			send(linkEvent{shutdown: true})
			return
		default:
			send(linkEvent{err: fmt.Errorf("unexpected %s frame from the interchange", typ)})
			return
		}
	}
}

// sendResults queues results for the next batch.
func (l *link) sendResults(rs ...funcx.Result) {
	l.mu.Lock()
	l.results = append(l.results, rs...)
	l.mu.Unlock()
	l.kick()
}

// sendCtrl queues a control frame.
func (l *link) sendCtrl(typ wire.MsgType, payload []byte) {
	l.mu.Lock()
	l.ctrl = append(l.ctrl, ctrlFrame{typ, payload})
	l.mu.Unlock()
	l.kick()
}

func (l *link) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends batches and heartbeats until close. Write errors close
// the connection, which the reader then reports.
func (l *link) writeLoop(period time.Duration) {
	defer l.writeWG.Done()
	tick := time.NewTicker(period)
	defer tick.Stop()
	var buf []byte
	for {
		heartbeat := false
		select {
		case <-l.closed:
			l.flushPending(&buf, false) // last results out before the close
			return
		case <-l.wake:
		case <-tick.C:
			heartbeat = true
		}
		if err := l.flushPending(&buf, heartbeat); err != nil {
			_ = l.conn.Close()
			return
		}
	}
}

func (l *link) flushPending(buf *[]byte, heartbeat bool) error {
	l.mu.Lock()
	results, ctrl := l.results, l.ctrl
	l.results, l.spare, l.ctrl = l.spare[:0], nil, nil
	l.mu.Unlock()
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.welcome.HeartbeatThreshold))
	var err error
	// Results first: a Return or Drain must not overtake results of tasks
	// that finished before it.
	for rest := results; len(rest) > 0 && err == nil; {
		n := min(len(rest), 4096)
		*buf = wire.AppendResults((*buf)[:0], rest[:n])
		err = l.w.WriteFrame(wire.MsgResults, *buf)
		rest = rest[n:]
	}
	for _, c := range ctrl {
		if err == nil {
			err = l.w.WriteFrame(c.typ, c.payload)
		}
	}
	if err == nil && heartbeat {
		err = l.w.WriteFrame(wire.MsgHeartbeat, nil)
	}
	if err == nil {
		err = l.w.Flush()
	}
	clear(results)
	l.mu.Lock()
	l.spare = results[:0]
	l.mu.Unlock()
	return err
}

// close flushes what is queued and closes the connection.
func (l *link) close() {
	l.once.Do(func() {
		close(l.closed)
		l.writeWG.Wait()
		_ = l.conn.Close()
	})
}
