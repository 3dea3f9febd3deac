package interchange

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/rawio"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/routing"
)

// inflightTask is a task on a manager, kept so that it can be retried or
// failed if the manager is lost.
type inflightTask struct {
	task       funcx.Task
	dispatched time.Time
}

// managerConn is one accepted manager. Fields without a note are guarded by
// the interchange's mu.
type managerConn struct {
	ix    *Interchange
	conn  net.Conn
	hello wire.Hello
	id    string

	capacity    int
	inflight    map[funcx.TaskID]inflightTask
	draining    bool
	lost        bool
	connectedAt time.Time
	idleSince   time.Time
	status      wire.Status
	// sentSinceStatus counts the tasks per container type dispatched
	// since the manager's last Status: they may have taken warm
	// containers the Status still shows idle.
	sentSinceStatus map[string]int

	// The writer's queue, guarded by outMu (taken after mu, never before).
	outMu     sync.Mutex
	out       []funcx.Task
	spare     []funcx.Task
	stopAfter bool // send Shutdown after the queued tasks, then close

	wakeCh    chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	lastHeard atomic.Int64
}

func (m *managerConn) snapshot() routing.Manager {
	free := m.capacity - len(m.inflight)
	if m.draining || m.holdRefill() {
		free = 0
	}
	s := routing.Manager{ID: m.id, Free: free, Types: m.hello.ContainerTypes}
	if len(m.status.Types) > 0 {
		s.Warm = make(map[string]int, len(m.status.Types))
		for _, t := range m.status.Types {
			s.Warm[t.Container] = max(0, t.Idle-m.sentSinceStatus[t.Container])
		}
	}
	return s
}

// holdRefill reports whether the manager's prefetched tasks still keep
// every worker supplied for a while, so that the free slots can wait and
// go in one larger frame. Refilling a slot per result would cost a frame
// each way per task; waiting until half the prefetch is spent sends one
// frame per prefetch/2 tasks, and no worker goes idle for it, since the
// manager still queues tasks beyond one per worker.
func (m *managerConn) holdRefill() bool {
	queued := len(m.inflight) - m.hello.Workers // beyond one per worker
	return m.hello.Prefetch >= 2 && queued >= (m.hello.Prefetch+1)/2
}

func (m *managerConn) wakeWriter() {
	select {
	case m.wakeCh <- struct{}{}:
	default:
	}
}

// shutdown asks the writer to send Shutdown and close the connection.
func (m *managerConn) shutdown() {
	m.outMu.Lock()
	m.stopAfter = true
	m.outMu.Unlock()
	m.wakeWriter()
}

func (m *managerConn) close() {
	m.closeOnce.Do(func() {
		close(m.closed)
		_ = m.conn.Close()
	})
}

// refusal is a handshake failure told to the manager and logged.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

// serve runs one connection: handshake, then the read loop; the writer runs
// beside it.
func (ix *Interchange) serve(conn net.Conn) {
	defer ix.wg.Done()
	r := wire.NewReader(rawio.Reader(conn), ix.cfg.MaxFrame)
	w := wire.NewWriter(rawio.Writer(conn), ix.cfg.MaxFrame)
	m, err := ix.handshake(conn, r, w)
	if err != nil {
		var ref *refusal
		if errors.As(err, &ref) {
			ix.mu.Lock()
			ix.counters.Refused++
			ix.mu.Unlock()
			ix.log.Warn("refused manager", "remote", conn.RemoteAddr().String(), "reason", ref.reason)
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = w.WriteFrame(wire.MsgRefused, wire.AppendText(nil, ref.reason))
			_ = w.Flush()
		} else {
			ix.log.Warn("manager handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
		}
		_ = conn.Close()
		return
	}
	ix.log.Info("manager connected", "manager", m.id, "host", m.hello.Hostname, "block", m.hello.BlockID,
		"workers", m.hello.Workers, "capacity", m.capacity, "types", m.hello.ContainerTypes)
	ix.wg.Add(1)
	go m.writeLoop(w)
	reason := m.readLoop(r)
	m.close()
	ix.managerGone(m, reason)
}

func (ix *Interchange) handshake(conn net.Conn, r *wire.Reader, w *wire.Writer) (*managerConn, error) {
	_ = conn.SetReadDeadline(time.Now().Add(ix.cfg.HandshakeTimeout))
	typ, p, err := r.ReadFrame()
	if err != nil {
		if errors.Is(err, wire.ErrFrameTooLarge) {
			return nil, &refusal{"not a funcx manager: first frame is not a hello"}
		}
		return nil, fmt.Errorf("read hello: %w", err)
	}
	if typ != wire.MsgHello {
		return nil, &refusal{fmt.Sprintf("expected a hello frame first, got %s", typ)}
	}
	h, err := wire.DecodeHello(p)
	if err != nil {
		return nil, &refusal{fmt.Sprintf("bad hello: %v", err)}
	}
	if h.Version != wire.ProtocolVersion {
		return nil, &refusal{fmt.Sprintf("protocol version %d is not supported: this interchange speaks version %d; run a manager from the same funcx release as the endpoint", h.Version, wire.ProtocolVersion)}
	}
	if subtle.ConstantTimeCompare([]byte(h.Secret), []byte(ix.cfg.Secret)) != 1 {
		return nil, &refusal{"wrong secret: the manager was not started by this endpoint run"}
	}
	if h.ManagerID == "" {
		return nil, &refusal{"hello has no manager id"}
	}
	if h.Workers+h.Prefetch <= 0 {
		return nil, &refusal{"manager has no capacity (0 workers and 0 prefetch)"}
	}
	h.Secret = ""
	m := &managerConn{
		ix: ix, conn: conn, hello: h, id: h.ManagerID,
		capacity: h.Workers + h.Prefetch, inflight: map[funcx.TaskID]inflightTask{},
		wakeCh: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	now := time.Now()
	m.connectedAt, m.idleSince = now, now
	m.lastHeard.Store(now.UnixNano())

	ix.mu.Lock()
	select {
	case <-ix.done:
		ix.mu.Unlock()
		return nil, &refusal{"interchange is shutting down"}
	default:
	}
	if _, dup := ix.managers[m.id]; dup {
		ix.mu.Unlock()
		return nil, &refusal{fmt.Sprintf("a manager with id %q is already connected", m.id)}
	}
	welcome := wire.Welcome{InterchangeID: ix.cfg.ID, HeartbeatPeriod: ix.cfg.HeartbeatPeriod, HeartbeatThreshold: ix.cfg.HeartbeatThreshold}
	_ = conn.SetWriteDeadline(time.Now().Add(ix.cfg.HandshakeTimeout))
	if err := w.WriteFrame(wire.MsgWelcome, wire.AppendWelcome(nil, &welcome)); err != nil {
		ix.mu.Unlock()
		return nil, fmt.Errorf("send welcome: %w", err)
	}
	if err := w.Flush(); err != nil {
		ix.mu.Unlock()
		return nil, fmt.Errorf("send welcome: %w", err)
	}
	ix.managers[m.id] = m
	ix.order = append(ix.order, m)
	ix.mu.Unlock()
	ix.wake()
	return m, nil
}

// readLoop handles frames until the connection fails; it returns why.
func (m *managerConn) readLoop(r *wire.Reader) string {
	ix := m.ix
	for {
		_ = m.conn.SetReadDeadline(time.Now().Add(ix.cfg.HeartbeatThreshold))
		typ, p, err := r.ReadFrame()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				return fmt.Sprintf("no heartbeat for %s", ix.cfg.HeartbeatThreshold)
			case errors.Is(err, io.EOF):
				return "connection closed by the manager"
			default:
				return fmt.Sprintf("connection failed: %v", err)
			}
		}
		m.lastHeard.Store(time.Now().UnixNano())
		switch typ {
		case wire.MsgHeartbeat:
		case wire.MsgResults:
			results, err := wire.DecodeResults(p)
			if err != nil {
				return fmt.Sprintf("protocol error: %v", err)
			}
			ix.handleResults(m, results)
		case wire.MsgReturn:
			ids, err := wire.DecodeTaskIDs(p)
			if err != nil {
				return fmt.Sprintf("protocol error: %v", err)
			}
			ix.handleReturn(m, ids)
		case wire.MsgDrain:
			ix.mu.Lock()
			m.draining = true
			ix.mu.Unlock()
			ix.log.Info("manager draining", "manager", m.id)
		case wire.MsgStatus:
			s, err := wire.DecodeStatus(p)
			if err != nil {
				return fmt.Sprintf("protocol error: %v", err)
			}
			ix.mu.Lock()
			m.status = s
			clear(m.sentSinceStatus)
			ix.mu.Unlock()
			ix.wake()
		default:
			return fmt.Sprintf("protocol error: unexpected %s frame from a manager", typ)
		}
	}
}

// writeLoop sends queued tasks and heartbeats until the connection closes.
func (m *managerConn) writeLoop(w *wire.Writer) {
	ix := m.ix
	defer ix.wg.Done()
	defer m.close()
	tick := time.NewTicker(ix.cfg.HeartbeatPeriod)
	defer tick.Stop()
	var buf []byte
	for {
		heartbeat := false
		select {
		case <-m.closed:
			return
		case <-m.wakeCh:
		case <-tick.C:
			heartbeat = true
		}
		m.outMu.Lock()
		tasks, stop := m.out, m.stopAfter
		m.out, m.spare = m.spare[:0], nil
		m.outMu.Unlock()
		all := tasks

		_ = m.conn.SetWriteDeadline(time.Now().Add(ix.cfg.HeartbeatThreshold))
		var err error
		for len(tasks) > 0 && err == nil {
			n := min(len(tasks), ix.cfg.BatchSize)
			buf = wire.AppendTasks(buf[:0], tasks[:n])
			err = w.WriteFrame(wire.MsgTasks, buf)
			clear(tasks[:n])
			tasks = tasks[n:]
		}
		if err == nil && heartbeat {
			err = w.WriteFrame(wire.MsgHeartbeat, nil)
		}
		if err == nil && stop {
			err = w.WriteFrame(wire.MsgShutdown, nil)
		}
		if err == nil {
			err = w.Flush()
		}
		m.outMu.Lock()
		m.spare = all[:0]
		m.outMu.Unlock()
		if err != nil {
			ix.log.Warn("send to manager failed", "manager", m.id, "err", err)
			return
		}
		if stop {
			return // the shutdown is flushed: the manager reads it before EOF
		}
	}
}
