package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// groupGoneTimeout bounds the wait, after a block's first process has
// exited and its group was sent SIGKILL, for the rest of the group to go.
// Only a process stuck in the kernel (uninterruptible I/O) takes longer.
const groupGoneTimeout = 5 * time.Second

// groupPollInterval is how often that wait looks.
const groupPollInterval = 10 * time.Millisecond

// maxTracked bounds how many jobs the provider remembers; past it the
// oldest ended ones are forgotten (Status then reports them JobMissing),
// as the PBS provider does. Jobs still running are never forgotten:
// Cancel and Shutdown must reach them.
const maxTracked = 4096

// ErrShutdown is returned by Submit after Shutdown.
var ErrShutdown = errors.New("local provider is shut down")

// Provider runs blocks as local process groups. It is safe for concurrent
// use.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	jobs    map[provider.JobID]*job
	order   []provider.JobID // jobs' keys in submission order, for forgetting
	max     int              // maxTracked but in tests
	seq     int
	closed  bool
	tempDir string // created on demand for jobs without ScriptDir

	wg sync.WaitGroup // reapers and terminators
}

var (
	_ provider.Provider   = (*Provider)(nil)
	_ provider.Shutdowner = (*Provider)(nil)
)

// job is one block's process group.
type job struct {
	id       provider.JobID
	blockID  string
	pid      int // also the process group ID
	errPath  string
	walltime time.Duration
	timer    *time.Timer   // walltime; nil without one
	done     chan struct{} // closed once the group is gone
	termOnce sync.Once

	// Guarded by Provider.mu.
	cancelled bool
	timedOut  bool
	exited    bool
	exitCode  int
	message   string
}

// New returns a Provider.
func New(cfg Config) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Provider{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "provider", "provider", "local"),
		jobs: make(map[provider.JobID]*job),
		max:  maxTracked,
	}, nil
}

// Submit starts the block's process group and returns once it runs.
func (p *Provider) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("submit local block: %w", err)
	}
	j = j.WithDefaults()
	if err := j.Validate(); err != nil {
		return "", fmt.Errorf("submit local block: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", fmt.Errorf("submit local block %s: %w", j.BlockID, ErrShutdown)
	}
	dir, err := p.scriptDir(j)
	if err != nil {
		return "", fmt.Errorf("submit local block %s: %w", j.BlockID, err)
	}
	outPath := filepath.Join(dir, j.BlockID+".out")
	errPath := filepath.Join(dir, j.BlockID+".err")
	stdout, err := os.Create(outPath)
	if err != nil {
		return "", fmt.Errorf("submit local block %s: create stdout: %w", j.BlockID, err)
	}
	defer stdout.Close()
	stderr, err := os.Create(errPath)
	if err != nil {
		return "", fmt.Errorf("submit local block %s: create stderr: %w", j.BlockID, err)
	}
	defer stderr.Close()

	cmd := exec.Command(p.cfg.Shell, "-c", j.Script())
	cmd.Env = append(os.Environ(), envList(j.Env)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own group, so that Cancel reaches every process of the block
	// and signals to the endpoint (Ctrl-C) do not.
	// A session of its own, not just a process group: see SessionAlive.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("submit local block %s: start %s: %w", j.BlockID, p.cfg.Shell, err)
	}

	p.seq++
	lj := &job{
		id:       provider.JobID(fmt.Sprintf("local-%d-%d", p.seq, cmd.Process.Pid)),
		blockID:  j.BlockID,
		pid:      cmd.Process.Pid,
		errPath:  errPath,
		walltime: j.Walltime,
		done:     make(chan struct{}),
	}
	p.trackLocked(lj)
	if j.Walltime > 0 {
		// Set before the reaper starts, which reads it; expire waits
		// for mu, which Submit holds until lj is complete.
		lj.timer = time.AfterFunc(j.Walltime, func() { p.expire(lj) })
	}
	p.wg.Add(1)
	go p.reap(lj, cmd)
	p.log.Info("started block", "block", j.BlockID, "job", lj.id, "pid", lj.pid, "stdout", outPath, "stderr", errPath)
	return lj.id, nil
}

// trackLocked remembers a job, forgetting the oldest ended ones past
// max. Called with mu held.
func (p *Provider) trackLocked(j *job) {
	p.jobs[j.id] = j
	p.order = append(p.order, j.id)
	if len(p.jobs) <= p.max {
		return
	}
	kept := p.order[:0]
	for _, id := range p.order {
		if len(p.jobs) > p.max && p.jobs[id].exited {
			delete(p.jobs, id)
			continue
		}
		kept = append(kept, id)
	}
	clear(p.order[len(kept):])
	p.order = kept
}

// scriptDir returns the directory for the job's files, creating it.
// Called with mu held.
func (p *Provider) scriptDir(j provider.Job) (string, error) {
	if j.ScriptDir != "" {
		if err := os.MkdirAll(j.ScriptDir, 0o750); err != nil {
			return "", fmt.Errorf("create script dir: %w", err)
		}
		return j.ScriptDir, nil
	}
	if p.tempDir == "" {
		d, err := os.MkdirTemp("", "funcx-local-")
		if err != nil {
			return "", fmt.Errorf("create script dir: %w", err)
		}
		p.tempDir = d
	}
	return p.tempDir, nil
}

// envList renders env sorted, so that the environment is reproducible.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// reap waits for the block's first process, kills what it left behind in
// its session, and records how it ended.
func (p *Provider) reap(j *job, cmd *exec.Cmd) {
	defer p.wg.Done()
	err := cmd.Wait()
	if j.timer != nil {
		j.timer.Stop()
	}
	signalSession(j.pid, syscall.SIGKILL)
	for deadline := time.Now().Add(groupGoneTimeout); SessionAlive(j.pid) && time.Now().Before(deadline); {
		time.Sleep(groupPollInterval)
		signalSession(j.pid, syscall.SIGKILL) // a process forking as it died
	}

	code, msg := exitStatus(cmd.ProcessState, err)
	if code != 0 {
		if tail, terr := provider.ReadTail(j.errPath, 0); terr == nil && tail != "" {
			msg += ": " + tail
		}
	}
	p.mu.Lock()
	j.exited, j.exitCode, j.message = true, code, msg
	state := j.stateLocked()
	p.mu.Unlock()
	close(j.done)
	p.log.Info("block ended", "block", j.blockID, "job", j.id, "state", state, "exit_code", code)
}

// exitStatus turns a process's end into a shell-style exit code (128+N
// for signal N) and a message.
func exitStatus(ps *os.ProcessState, waitErr error) (int, string) {
	if ps == nil {
		return -1, fmt.Sprintf("wait: %v", waitErr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), "killed by signal " + ws.Signal().String()
	}
	code := ps.ExitCode()
	if code == 0 {
		return 0, ""
	}
	return code, fmt.Sprintf("exit status %d", code)
}

// expire stops a job that has reached its walltime.
func (p *Provider) expire(j *job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if j.exited || j.cancelled {
		return
	}
	j.timedOut = true
	p.log.Info("block reached its walltime", "block", j.blockID, "job", j.id, "walltime", j.walltime)
	p.terminateLocked(j)
}

// terminateLocked starts stopping the job's group, once: SIGTERM, then
// SIGKILL after CancelGrace. Called with mu held and the job not exited,
// so that the reaper still holds wg and the Add below is safe.
func (p *Provider) terminateLocked(j *job) {
	j.termOnce.Do(func() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			signalSession(j.pid, syscall.SIGTERM)
			t := time.NewTimer(p.cfg.CancelGrace)
			defer t.Stop()
			select {
			case <-j.done:
				return
			case <-t.C:
			}
			p.log.Warn("block ignored SIGTERM; killing it", "block", j.blockID, "job", j.id, "grace", p.cfg.CancelGrace)
			signalSession(j.pid, syscall.SIGKILL)
			<-j.done
		}()
	})
}

// Status reports each job's state. Unknown IDs are JobMissing.
func (p *Provider) Status(_ context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]provider.JobStatus, len(ids))
	for i, id := range ids {
		j := p.jobs[id]
		if j == nil {
			out[i] = provider.JobStatus{ID: id, State: provider.JobMissing, Message: "no such local job (or it ended long ago and was forgotten)"}
			continue
		}
		out[i] = provider.JobStatus{ID: id, State: j.stateLocked(), ExitCode: j.exitCode, Message: j.message}
		if j.timedOut {
			out[i].Message = fmt.Sprintf("walltime of %s exceeded", j.walltime)
		}
	}
	return out, nil
}

// stateLocked derives the job's state. Called with mu held.
func (j *job) stateLocked() provider.JobState {
	switch {
	case !j.exited:
		return provider.JobRunning
	case j.cancelled:
		return provider.JobCancelled
	case j.timedOut:
		return provider.JobTimeout
	case j.exitCode == 0:
		return provider.JobCompleted
	}
	return provider.JobFailed
}

// Cancel stops the jobs' process groups and waits until they are gone,
// or ctx ends; the stopping goes on regardless.
func (p *Provider) Cancel(ctx context.Context, ids []provider.JobID) error {
	p.mu.Lock()
	var waits []*job
	for _, id := range ids {
		if j := p.jobs[id]; j != nil && p.cancelLocked(j) {
			waits = append(waits, j)
		}
	}
	p.mu.Unlock()
	for _, j := range waits {
		select {
		case <-j.done:
		case <-ctx.Done():
			return fmt.Errorf("cancel local job %s: %w", j.id, ctx.Err())
		}
	}
	return nil
}

// cancelLocked marks a running job cancelled and starts stopping it. It
// reports false for a job that has already exited. Called with mu held.
func (p *Provider) cancelLocked(j *job) bool {
	if j.exited {
		return false
	}
	if !j.timedOut {
		j.cancelled = true
	}
	p.terminateLocked(j)
	return true
}

// PID returns the process ID of a job's first process, which is also its
// process group ID, for diagnostics and tests.
func (p *Provider) PID(id provider.JobID) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.jobs[id]
	if j == nil {
		return 0, false
	}
	return j.pid, true
}

// Shutdown cancels every running block, waits for every process to be
// reaped and removes the temporary script directory, if one was made.
// Submit fails afterwards. It is idempotent.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	for _, j := range p.jobs {
		p.cancelLocked(j)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("shut down local provider: %w", ctx.Err())
	}
	p.mu.Lock()
	dir := p.tempDir
	p.tempDir = ""
	p.mu.Unlock()
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("shut down local provider: remove script dir: %w", err)
		}
	}
	return nil
}
