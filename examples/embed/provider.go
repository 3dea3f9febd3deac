package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// procs is a provider.Provider of this program's own: each block is a
// bash process group on this machine, started and ended its own way (the
// module's provider/local does the same with more care: sessions, output
// files, walltimes). An endpoint takes it through
// endpoint.ProviderConfig.Implementation; provider/providertest's
// conformance suite checks it (provider_test.go).
type procs struct {
	grace   time.Duration // between SIGTERM and SIGKILL of a cancelled block
	started atomic.Int64  // blocks started, for the demo's summary

	mu   sync.Mutex
	seq  int
	jobs map[provider.JobID]*proc
}

// proc is one block: its process group and, once it has ended, its state.
type proc struct {
	cmd       *exec.Cmd
	stderr    *tail
	done      chan struct{} // closed when the process has been waited for
	cancelled bool
	status    provider.JobStatus
}

var (
	_ provider.Provider   = (*procs)(nil)
	_ provider.Shutdowner = (*procs)(nil)
)

func newProcs() *procs {
	return &procs{grace: 5 * time.Second, jobs: map[provider.JobID]*proc{}}
}

// Submit starts the block's script (worker_init, then the manager
// command) with bash, in a process group of its own.
func (p *procs) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	j = j.WithDefaults()
	if err := j.Validate(); err != nil {
		return "", err
	}
	cmd := exec.Command("bash", "-c", j.Script())
	cmd.Env = os.Environ()
	for k, v := range j.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	pr := &proc{cmd: cmd, stderr: &tail{}, done: make(chan struct{})}
	cmd.Stderr = pr.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start block %s: %w", j.BlockID, err)
	}
	p.mu.Lock()
	p.seq++
	id := provider.JobID("proc-" + strconv.Itoa(p.seq))
	p.jobs[id] = pr
	p.mu.Unlock()
	p.started.Add(1)
	go p.wait(id, pr)
	return id, nil
}

// wait records how the block ended.
func (p *procs) wait(id provider.JobID, pr *proc) {
	err := pr.cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := provider.JobStatus{ID: id, State: provider.JobCompleted}
	var exit *exec.ExitError
	switch {
	case pr.cancelled:
		st.State = provider.JobCancelled
	case errors.As(err, &exit):
		st.State, st.ExitCode, st.Message = provider.JobFailed, exit.ExitCode(), pr.stderr.String()
	case err != nil:
		st.State, st.Message = provider.JobFailed, err.Error()
	}
	pr.status = st
	close(pr.done)
}

// Status reports each block: running until its process has ended.
func (p *procs) Status(_ context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]provider.JobStatus, len(ids))
	for i, id := range ids {
		pr, ok := p.jobs[id]
		switch {
		case !ok:
			out[i] = provider.JobStatus{ID: id, State: provider.JobMissing}
		case pr.status.ID != "":
			out[i] = pr.status
		default:
			out[i] = provider.JobStatus{ID: id, State: provider.JobRunning}
		}
	}
	return out, nil
}

// Cancel sends the blocks' process groups SIGTERM (managers stop their
// workers on it), and SIGKILL after the grace period.
func (p *procs) Cancel(_ context.Context, ids []provider.JobID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		pr, ok := p.jobs[id]
		if !ok || pr.cancelled || pr.status.ID != "" {
			continue
		}
		pr.cancelled = true
		pgid := pr.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		go func() {
			select {
			case <-pr.done:
			case <-time.After(p.grace):
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL) // what is left of the group
		}()
	}
	return nil
}

// Shutdown cancels every block and waits until each has ended.
func (p *procs) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	ids := make([]provider.JobID, 0, len(p.jobs))
	for id := range p.jobs {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	_ = p.Cancel(ctx, ids)
	for _, id := range ids {
		p.mu.Lock()
		done := p.jobs[id].done
		p.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// tail keeps the last 2 KiB written to it: a failed block's message.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - 2048; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
