package pbs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// maxTracked bounds what the provider remembers about jobs (their stderr
// file, whether it cancelled them); the oldest finished ones are
// forgotten first.
const maxTracked = 4096

// shutdownPoll is how often Shutdown asks whether the jobs it cancelled
// have ended.
const shutdownPoll = time.Second

// Provider runs blocks as PBS Pro jobs. It is safe for concurrent use.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	jobs    map[provider.JobID]*job
	order   []provider.JobID // submission order, for forgetting
	tempDir string           // for jobs without ScriptDir
	seq     int
}

var (
	_ provider.Provider   = (*Provider)(nil)
	_ provider.Shutdowner = (*Provider)(nil)
)

// job is what the provider remembers of a job it submitted.
type job struct {
	errPath   string
	cancelled bool
	ended     bool
}

// New returns a Provider.
func New(cfg Config) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Provider{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "provider", "provider", "pbs"),
		jobs: make(map[provider.JobID]*job),
	}, nil
}

// Submit writes the job script into the job's ScriptDir and submits it
// with qsub.
func (p *Provider) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("submit PBS block: %w", err)
	}
	j = j.WithDefaults()
	if err := j.Validate(); err != nil {
		return "", fmt.Errorf("submit PBS block: %w", err)
	}
	dir, base, err := p.scriptFiles(j)
	if err != nil {
		return "", fmt.Errorf("submit PBS block %s: %w", j.BlockID, err)
	}
	scriptPath := filepath.Join(dir, base+".pbs")
	outPath := filepath.Join(dir, base+".out")
	errPath := filepath.Join(dir, base+".err")
	if err := checkDirectiveValues(j, scriptPath); err != nil {
		return "", fmt.Errorf("submit PBS block %s: %w", j.BlockID, err)
	}
	// 0600: the environment carries the run's secret.
	if err := os.WriteFile(scriptPath, []byte(jobScript(p.cfg.Shell, j, outPath, errPath)), 0o600); err != nil {
		return "", fmt.Errorf("submit PBS block %s: write script: %w", j.BlockID, err)
	}
	res, err := p.cfg.Runner.Run(ctx, p.cfg.Qsub, []string{scriptPath}, nil)
	if err != nil {
		return "", fmt.Errorf("submit PBS block %s: %w", j.BlockID, err)
	}
	id, err := parseQsub(res.Stdout)
	if err != nil {
		return "", fmt.Errorf("submit PBS block %s: %w", j.BlockID, err)
	}
	jid := provider.JobID(id)
	p.mu.Lock()
	p.track(jid, &job{errPath: errPath})
	p.mu.Unlock()
	p.log.Info("block submitted", "block", j.BlockID, "job", jid, "script", scriptPath)
	return jid, nil
}

// scriptFiles creates the directory of the job's files and returns it
// with a base name for them that no earlier block used: block IDs start
// over with each endpoint run, and a job of an earlier run may still be
// writing its output.
func (p *Provider) scriptFiles(j provider.Job) (dir, base string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	dir = j.ScriptDir
	if dir == "" {
		if p.tempDir == "" {
			if p.tempDir, err = os.MkdirTemp("", "funcx-pbs-"); err != nil {
				return "", "", fmt.Errorf("create script dir: %w", err)
			}
		}
		dir = p.tempDir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create script dir: %w", err)
	}
	p.seq++
	base = fmt.Sprintf("%s.%s.%d", j.BlockID, strconv.FormatInt(time.Now().UnixMilli(), 36), p.seq)
	return dir, base, nil
}

// track remembers a job, forgetting the oldest ended ones past
// maxTracked. Called with mu held.
func (p *Provider) track(id provider.JobID, j *job) {
	p.jobs[id] = j
	p.order = append(p.order, id)
	for i := 0; len(p.jobs) > maxTracked && i < len(p.order); {
		if old := p.jobs[p.order[i]]; old == nil || old.ended {
			delete(p.jobs, p.order[i])
			p.order = append(p.order[:i], p.order[i+1:]...)
			continue
		}
		i++
	}
}

// Status asks qstat about every job at once. IDs qstat does not know are
// JobMissing.
func (p *Provider) Status(ctx context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	if len(ids) == 0 {
		return []provider.JobStatus{}, nil
	}
	args := []string{"-x", "-f", "-F", "json"}
	for _, id := range ids {
		// Only job IDs reach the command line: anything else (which could
		// even pass for an option) is missing without asking.
		if jobIDPattern.MatchString(string(id)) {
			args = append(args, string(id))
		}
	}
	var res provider.RunResult
	var err error
	if len(args) > 4 {
		res, err = p.cfg.Runner.Run(ctx, p.cfg.Qstat, args, nil)
	}
	unknown := map[string]bool{}
	if err != nil {
		var cerr *provider.CommandError
		if !errors.As(err, &cerr) || cerr.ExitCode <= 0 {
			return nil, fmt.Errorf("PBS job status: %w", err)
		}
		// Exit status 153 with "Unknown Job Id" lines: the other jobs
		// are still reported.
		unk, other := parseQstatErrors(res.Stderr, filepath.Base(p.cfg.Qstat))
		if len(other) > 0 {
			return nil, fmt.Errorf("PBS job status: %w", err)
		}
		for _, id := range unk {
			unknown[id] = true
		}
	}
	found, err := parseQstat(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("PBS job status: %w", err)
	}
	bySeq := bySequence(found)

	out := make([]provider.JobStatus, len(ids))
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, id := range ids {
		qj, ok := found[string(id)]
		if !ok {
			qj, ok = bySeq[sequence(string(id))]
		}
		tracked := p.jobs[id]
		if !ok {
			msg := "qstat has no record of the job"
			if !jobIDPattern.MatchString(string(id)) {
				msg = "not a PBS job ID"
			} else if unknown[string(id)] {
				msg = "qstat: Unknown Job Id " + string(id)
			}
			out[i] = provider.JobStatus{ID: id, State: provider.JobMissing, Message: msg}
			if tracked != nil && tracked.cancelled {
				out[i].State = provider.JobCancelled
			}
		} else {
			cancelled := tracked != nil && tracked.cancelled
			out[i] = jobStatus(id, qj, cancelled, func() string { return p.stderrTail(tracked, qj) })
		}
		if tracked != nil && out[i].State.Terminal() {
			tracked.ended = true
		}
	}
	return out, nil
}

// stderrTail reads the end of a finished job's stderr: the file the
// provider named, or the one qstat reports ("host:/path").
func (p *Provider) stderrTail(tracked *job, qj qstatJob) string {
	path := ""
	if tracked != nil {
		path = tracked.errPath
	} else if _, after, ok := strings.Cut(qj.ErrorPath, ":"); ok {
		path = after
	}
	if path == "" {
		return ""
	}
	tail, err := provider.ReadTail(path, 0)
	if err != nil {
		return ""
	}
	return tail
}

// sequence is the number at the start of a job ID: qstat may print the
// server's full name where qsub printed the short one.
func sequence(id string) string {
	seq, _, _ := strings.Cut(id, ".")
	return seq
}

// bySequence indexes jobs by sequence number, leaving out numbers that
// occur twice (jobs of two servers), which only an exact ID can tell
// apart.
func bySequence(jobs map[string]qstatJob) map[string]qstatJob {
	out := make(map[string]qstatJob, len(jobs))
	dup := map[string]bool{}
	for id, j := range jobs {
		s := sequence(id)
		if _, seen := out[s]; seen {
			dup[s] = true
		}
		out[s] = j
	}
	for s := range dup {
		delete(out, s)
	}
	return out
}

// Cancel deletes the jobs with one qdel. Jobs that are unknown or have
// finished are not an error.
func (p *Provider) Cancel(ctx context.Context, ids []provider.JobID) error {
	if len(ids) == 0 {
		return nil
	}
	p.mu.Lock()
	for _, id := range ids {
		if j := p.jobs[id]; j != nil {
			j.cancelled = true
		}
	}
	p.mu.Unlock()
	var args []string
	for _, id := range ids {
		if jobIDPattern.MatchString(string(id)) { // not a job ID: nothing to delete
			args = append(args, string(id))
		}
	}
	if len(args) == 0 {
		return nil
	}
	res, err := p.cfg.Runner.Run(ctx, p.cfg.Qdel, args, nil)
	if err != nil {
		var cerr *provider.CommandError
		if errors.As(err, &cerr) && cerr.ExitCode > 0 && len(qdelErrors(res.Stderr, filepath.Base(p.cfg.Qdel))) == 0 {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("cancel PBS jobs: %w", err)
	}
	p.log.Info("blocks cancelled", "jobs", ids)
	return nil
}

// Shutdown deletes the jobs this provider submitted that have not ended,
// waits until qstat reports them ended, and removes the temporary script
// directory if one was made. It returns ctx.Err() if ctx ends first.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	var live []provider.JobID
	for _, id := range p.order {
		if j := p.jobs[id]; j != nil && !j.ended {
			live = append(live, id)
		}
	}
	p.mu.Unlock()
	if len(live) > 0 {
		if err := p.Cancel(ctx, live); err != nil {
			return fmt.Errorf("shut down PBS provider: %w", err)
		}
	}
	for len(live) > 0 {
		sts, err := p.Status(ctx, live)
		if err != nil {
			return fmt.Errorf("shut down PBS provider: %w", err)
		}
		live = live[:0]
		for _, st := range sts {
			if !st.State.Terminal() {
				live = append(live, st.ID)
			}
		}
		if len(live) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shut down PBS provider: %d jobs still ending: %w", len(live), ctx.Err())
		case <-time.After(shutdownPoll):
		}
	}
	p.mu.Lock()
	dir := p.tempDir
	p.tempDir = ""
	p.mu.Unlock()
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("shut down PBS provider: remove script dir: %w", err)
		}
	}
	return nil
}
