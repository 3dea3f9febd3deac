package manager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/internal/rawio"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/worker"
)

// containerStart is the container side of a workerProc: the worker's own
// unix socket (in the manager's socket directory, mounted into the
// container) and the container once it runs. The watcher goroutine starts
// the container and accepts the worker's connection; the loop may stop it
// at any point, which is why conn and inst are guarded.
type containerStart struct {
	spec   container.Spec
	ln     *net.UnixListener
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	conn    net.Conn
	inst    container.Instance
	stopped bool
}

// stop ends the container: closing the connection makes the worker exit
// (and with it the container); one not connected yet is killed.
func (c *containerStart) stop() {
	c.mu.Lock()
	c.stopped = true
	conn, inst := c.conn, c.inst
	c.mu.Unlock()
	c.cancel()
	_ = c.ln.Close()
	if conn != nil {
		_ = conn.Close()
	} else if inst != nil {
		_ = inst.Kill()
	}
}

// startContainer starts worker idx in a container of type typ. It returns
// at once; the watcher goroutine starts the container and reports the
// worker ready (or its exit) like a worker process.
func (m *manager) startContainer(idx int, typ string) (*workerProc, error) {
	cs := m.cs
	cs.seq++
	sock := filepath.Join(cs.sockDir, "w"+strconv.Itoa(cs.seq)+".sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("start container worker %d: listen on %s: %w", idx, sock, err)
	}
	bin := m.cfg.Container.WorkerBinary
	env := []string{
		worker.EnvRole + "=" + worker.RoleWorker,
		worker.EnvWorkerID + "=" + strconv.Itoa(idx),
		worker.EnvAddr + "=unix:" + sock,
		worker.EnvContainer + "=" + typ,
		"FUNCX_MANAGER_ID=" + m.cfg.ManagerID,
		EnvRunID + "=" + m.cfg.RunID,
	}
	for k, v := range m.cfg.WorkerEnv {
		env = append(env, k+"="+v)
	}
	if m.cfg.PythonCommand != "" {
		env = append(env, worker.EnvPythonCommand+"="+m.cfg.PythonCommand)
	}
	if accs := m.cfg.AvailableAccelerators; len(accs) > 0 {
		dev := accs[idx%len(accs)]
		env = append(env, "CUDA_VISIBLE_DEVICES="+dev, "ROCR_VISIBLE_DEVICES="+dev, "ZE_AFFINITY_MASK="+dev)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &workerProc{idx: idx, typ: typ, started: time.Now(), ctr: &containerStart{
		spec: container.Spec{
			Image:   typ,
			Command: []string{bin},
			Env:     env,
			Binds: []container.Bind{
				{Host: cs.sockDir, Container: cs.sockDir},
				{Host: bin, Container: bin, ReadOnly: true},
			},
			Labels: cs.labels,
			Output: os.Stderr,
		},
		ln: ln, ctx: ctx, cancel: cancel,
	}}
	m.wg.Add(1)
	go m.watchContainer(w)
	return w, nil
}

// waitedInstance lets both the connect phase and serveWorker wait for a
// container's exit.
type waitedInstance struct {
	inst container.Instance
	done chan struct{}
	err  error
}

func (p *waitedInstance) Wait() error { <-p.done; return p.err }
func (p *waitedInstance) Kill() error { return p.inst.Kill() }

// watchContainer starts the container, waits for its worker to connect,
// then serves it like a worker process.
func (m *manager) watchContainer(w *workerProc) {
	defer m.wg.Done()
	c := w.ctr
	defer c.cancel()
	inst, err := m.cs.rt.Start(c.ctx, c.spec)
	if err != nil {
		_ = c.ln.Close()
		m.workerEvents <- workerEvent{w: w, exited: true, exitErr: err}
		return
	}
	p := &waitedInstance{inst: inst, done: make(chan struct{})}
	go func() {
		p.err = inst.Wait()
		close(p.done)
	}()
	w.proc = p
	c.mu.Lock()
	c.inst = inst
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		_ = inst.Kill()
	}

	// Accept the worker's connection; the container exiting first or the
	// start timeout ends the wait.
	accepted := make(chan struct{})
	go func() {
		select {
		case <-p.done:
			_ = c.ln.Close()
		case <-accepted:
		}
	}()
	_ = c.ln.SetDeadline(time.Now().Add(m.cfg.Container.StartTimeout))
	conn, err := c.ln.Accept()
	close(accepted)
	_ = c.ln.Close() // removes the socket file; one worker per socket
	if err != nil {
		_ = inst.Kill()
		exitErr := p.Wait()
		if exitErr == nil {
			exitErr = errors.New("exited before it connected")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			exitErr = fmt.Errorf("did not connect within %s (killed): %w", m.cfg.Container.StartTimeout, exitErr)
		}
		m.workerEvents <- workerEvent{w: w, exited: true, exitErr: exitErr}
		return
	}
	c.mu.Lock()
	c.conn = conn
	stopped = c.stopped
	c.mu.Unlock()
	if stopped {
		_ = conn.Close()
	}
	w.conn = conn
	w.w = wire.NewWriter(rawio.Writer(conn), m.cfg.MaxFrame)
	m.serveWorker(w)
}

// describeContainerExit says how a container worker ended.
func describeContainerExit(w *workerProc, err error) string {
	id := "not started"
	w.ctr.mu.Lock()
	if w.ctr.inst != nil {
		id = w.ctr.inst.ID()
	}
	w.ctr.mu.Unlock()
	what := fmt.Sprintf("container worker %d (image %s, container %s)", w.idx, w.typ, id)
	if err == nil {
		return what + " exited"
	}
	return fmt.Sprintf("%s failed: %v", what, err)
}
