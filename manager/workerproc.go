package manager

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/rawio"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/worker"
)

// workerProc is one worker process and its socket. Only the manager's loop
// touches its fields, except those the reader goroutine owns (noted).
type workerProc struct {
	idx     int
	proc    process
	conn    net.Conn
	w       *wire.Writer
	pid     int
	started time.Time
	ready   bool
	// tasks were sent and not answered, oldest first: the worker runs the
	// first and holds the others (see pipeline.go); empty when idle.
	tasks      []funcx.Task
	reclaiming bool      // a Reclaim was sent and its Return is due
	progress   time.Time // when it last answered, or got work while idle
	quick      int       // consecutive deaths soon after start, for backoff

	// Container workers (see containerproc.go).
	typ       string // container type; funcx.RawContainer for a process
	fresh     bool   // started for waiting tasks and has run none yet
	retiring  bool   // evicted or retired: its exit is expected
	idleSince time.Time
	ctr       *containerStart // nil for a worker process
}

// process is a running worker: an os/exec process or a container.
type process interface {
	Wait() error
	Kill() error
}

// cmdProcess adapts an exec.Cmd to process.
type cmdProcess struct{ *exec.Cmd }

func (c cmdProcess) Kill() error { return c.Process.Kill() }

// workerEvent is what a worker's goroutine reports to the manager's loop.
type workerEvent struct {
	w        *workerProc
	ready    bool
	results  []funcx.Result
	returned []funcx.TaskID // handed back unstarted after a Reclaim
	exited   bool
	exitErr  error
}

// startProcess starts worker process idx with one end of a socket pair as
// fd 3.
func (m *manager) startProcess(idx int) (*workerProc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start worker %d: socketpair: %w", idx, err)
	}
	parent := os.NewFile(uintptr(fds[0]), "worker-parent")
	child := os.NewFile(uintptr(fds[1]), "worker-child")
	defer child.Close()
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("start worker %d: %w", idx, err)
	}
	argv := m.cfg.WorkerCommand
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{child}
	cmd.Env = append(os.Environ(),
		"FUNCX_ROLE=worker",
		"FUNCX_WORKER_ID="+strconv.Itoa(idx),
		"FUNCX_WORKER_FD=3",
		"FUNCX_MANAGER_ID="+m.cfg.ManagerID,
		EnvRunID+"="+m.cfg.RunID,
	)
	for k, v := range m.cfg.WorkerEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if m.cfg.PythonCommand != "" {
		cmd.Env = append(cmd.Env, worker.EnvPythonCommand+"="+m.cfg.PythonCommand)
	}
	if accs := m.cfg.AvailableAccelerators; len(accs) > 0 {
		dev := accs[idx%len(accs)]
		cmd.Env = append(cmd.Env, "CUDA_VISIBLE_DEVICES="+dev, "ROCR_VISIBLE_DEVICES="+dev, "ZE_AFFINITY_MASK="+dev)
	}
	cmd.Stdout = os.Stderr // the worker's own log lines, into the block's log
	cmd.Stderr = os.Stderr
	// A worker dies with the manager even if the socket EOF is missed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start worker %d: %w", idx, err)
	}
	w := &workerProc{idx: idx, proc: cmdProcess{cmd}, conn: conn, w: wire.NewWriter(rawio.Writer(conn), m.cfg.MaxFrame), pid: cmd.Process.Pid, started: time.Now()}
	m.wg.Add(1)
	go m.watchWorker(w)
	return w, nil
}

// watchWorker reads the worker's frames, then reaps it and reports its exit.
func (m *manager) watchWorker(w *workerProc) {
	defer m.wg.Done()
	m.serveWorker(w)
}

// serveWorker reads the frames of a connected worker, then reaps it and
// reports its exit.
func (m *manager) serveWorker(w *workerProc) {
	r := wire.NewReader(rawio.Reader(w.conn), m.cfg.MaxFrame)
	send := func(ev workerEvent) { m.workerEvents <- ev } // the loop drains until every watcher is done
	var readErr error
	for readErr == nil {
		typ, p, err := r.ReadFrame()
		if err != nil {
			readErr = err
			break
		}
		switch typ {
		case wire.MsgReady:
			if _, err := wire.DecodeReady(p); err != nil {
				readErr = err
				break
			}
			send(workerEvent{w: w, ready: true})
		case wire.MsgResults:
			rs, err := wire.DecodeResults(p)
			if err != nil {
				readErr = err
				break
			}
			send(workerEvent{w: w, results: rs})
		case wire.MsgReturn:
			ids, err := wire.DecodeTaskIDs(p)
			if err != nil {
				readErr = err
				break
			}
			send(workerEvent{w: w, returned: ids})
		default:
			readErr = fmt.Errorf("unexpected %s frame from worker", typ)
		}
	}
	// The socket is closed or broken: the worker is exiting or must. Give
	// it a moment, then make sure.
	done := make(chan error, 1)
	go func() { done <- w.proc.Wait() }()
	var exitErr error
	select {
	case exitErr = <-done:
	case <-time.After(2 * time.Second):
		_ = w.proc.Kill()
		exitErr = <-done
	}
	w.conn.Close()
	if exitErr == nil && !errors.Is(readErr, io.EOF) {
		exitErr = readErr // it exited cleanly but spoke garbage first
	}
	send(workerEvent{w: w, exited: true, exitErr: exitErr})
}

// describeExit says how a worker ended, for WorkerLost messages.
func describeExit(w *workerProc, err error) string {
	if w.ctr != nil {
		return describeContainerExit(w, err)
	}
	if err == nil {
		return fmt.Sprintf("worker %d (pid %d) exited", w.idx, w.pid)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("worker %d (pid %d) was killed by signal %s", w.idx, w.pid, ws.Signal())
		}
		return fmt.Sprintf("worker %d (pid %d) exited with status %d", w.idx, w.pid, ee.ExitCode())
	}
	return fmt.Sprintf("worker %d (pid %d) failed: %v", w.idx, w.pid, err)
}

// sendTasks hands tasks to the worker in one frame; it runs them after
// those it has, in order.
func (w *workerProc) sendTasks(ts []funcx.Task, buf []byte) ([]byte, error) {
	buf = wire.AppendTasks(buf[:0], ts)
	if err := w.w.WriteFrame(wire.MsgTasks, buf); err != nil {
		return buf, err
	}
	return buf, w.w.Flush()
}

// sendReclaim asks the worker to hand back the tasks it has not started.
func (w *workerProc) sendReclaim() error {
	if err := w.w.WriteFrame(wire.MsgReclaim, nil); err != nil {
		return err
	}
	return w.w.Flush()
}

// stop asks the worker to exit (it sees EOF and kills any running task).
func (w *workerProc) stop() {
	if w.ctr != nil {
		w.ctr.stop()
		return
	}
	_ = w.conn.Close()
}
