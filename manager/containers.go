package manager

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/internal/wire"
)

// maxStartFailures is how many containers of one type may fail to start in
// a row before the tasks waiting for that type fail: a broken image must
// not leave its tasks waiting forever.
const maxStartFailures = 3

// containerState is the manager's container bookkeeping; nil when the
// workers are plain processes. Only the loop goroutine touches it.
type containerState struct {
	rt      container.Runtime
	sockDir string
	labels  map[string]string
	seq     int
	retire  *time.Ticker // soft routing: retire idle containers

	failures map[string]int // consecutive start failures per type
	figures  wire.Status    // counters; Types is filled when sent
	last     []byte         // the last Status sent, to send only changes
}

// setupContainers prepares the runtime: the socket directory mounted into
// every container and, for a runtime behind a daemon (Docker), a daemon
// that answers, with the orphans of dead managers removed.
func (m *manager) setupContainers(ctx context.Context) error {
	cc := m.cfg.Container
	if !cc.enabled() {
		return nil
	}
	opts, err := cc.options()
	if err != nil {
		return err
	}
	rt, err := container.New(cc.Runtime, opts)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if p, ok := rt.(container.Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			closeRuntime(rt)
			return fmt.Errorf("manager: %w", err)
		}
	}
	if o, ok := rt.(container.OrphanRemover); ok {
		if n, err := o.RemoveOrphans(ctx); err != nil {
			m.log.Warn("removing containers of dead managers failed", "err", err)
		} else if n > 0 {
			m.log.Info("removed containers of dead managers", "count", n)
		}
	}
	removeStaleSocketDirs(cc.SocketDir, m.log)
	dir, err := os.MkdirTemp(cc.SocketDir, socketDirPrefix(os.Getpid()))
	if err != nil {
		closeRuntime(rt)
		return fmt.Errorf("manager: make the workers' socket directory: %w", err)
	}
	host, _ := os.Hostname()
	m.cs = &containerState{
		rt: rt, sockDir: dir, failures: map[string]int{},
		labels: container.OwnerLabels(m.cfg.RunID, m.cfg.ManagerID, m.cfg.BlockID, host, os.Getpid()),
	}
	if cc.soft() {
		m.cs.retire = time.NewTicker(min(max(cc.MaxIdle/4, 10*time.Millisecond), 5*time.Second))
	}
	m.log.Info("workers run in containers", "runtime", cc.Runtime, "types", cc.Types, "soft", cc.soft(), "worker_binary", cc.WorkerBinary)
	return nil
}

// socketDirPrefix names a manager's socket directory after its process
// (pid and start time), so that the directory of a manager that was
// killed is recognised and removed by the next one.
func socketDirPrefix(pid int) string {
	start, _ := container.ProcessStart(pid)
	return "funcx-manager-" + strconv.Itoa(pid) + "-" + strconv.FormatUint(start, 10) + "-"
}

// removeStaleSocketDirs removes the socket directories in parent (the
// temporary directory if empty) of managers that are gone. A manager
// whose block is cancelled may be killed before it removes its own.
func removeStaleSocketDirs(parent string, log *slog.Logger) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "funcx-manager-*-*-*"))
	for _, d := range dirs {
		f := strings.Split(strings.TrimPrefix(filepath.Base(d), "funcx-manager-"), "-")
		pid, err1 := strconv.Atoi(f[0])
		start, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil || pid <= 0 {
			continue
		}
		if now, ok := container.ProcessStart(pid); ok && now == start {
			continue // its manager runs
		}
		if err := os.RemoveAll(d); err == nil {
			log.Debug("removed the socket directory of a manager that is gone", "dir", d)
		}
	}
}

// teardownContainers runs after every worker has exited.
func (m *manager) teardownContainers() {
	if m.cs == nil {
		return
	}
	if m.cs.retire != nil {
		m.cs.retire.Stop()
	}
	_ = os.RemoveAll(m.cs.sockDir)
	closeRuntime(m.cs.rt)
}

func closeRuntime(rt container.Runtime) {
	if c, ok := rt.(io.Closer); ok {
		_ = c.Close()
	}
}

// retireC ticks when idle containers should be checked; nil if never.
func (m *manager) retireC() <-chan time.Time {
	if m.cs == nil || m.cs.retire == nil {
		return nil
	}
	return m.cs.retire.C
}

// startWorker starts worker idx for the manager's fixed type: a container
// under hard routing, else a worker process.
func (m *manager) startWorker(idx int) (*workerProc, error) {
	if cc := m.cfg.Container; cc.enabled() && !cc.soft() {
		return m.startTyped(idx, cc.Types[0])
	}
	return m.startProcess(idx)
}

// startTyped starts a worker of container type typ; RAW tasks get a
// worker process.
func (m *manager) startTyped(idx int, typ string) (*workerProc, error) {
	if typ == funcx.RawContainer {
		return m.startProcess(idx)
	}
	return m.startContainer(idx, typ)
}
