package slurm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/funcx-go/funcx/provider"
)

// maxRemembered bounds how many submitted jobs the provider remembers the
// stderr path of, for the messages of failed jobs.
const maxRemembered = 4096

// Provider runs blocks as Slurm batch jobs. It is safe for concurrent
// use. It keeps no state Slurm does not also keep, except where each
// job's stderr file is, so that an endpoint that restarts can still read
// the states of jobs an earlier run submitted.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu           sync.Mutex
	noAccounting bool   // sacct said accounting is disabled (auto)
	tempDir      string // created on demand for jobs without ScriptDir
	stderrOf     map[provider.JobID]string
	remembered   []provider.JobID // stderrOf's keys, oldest first
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider.
func New(cfg Config) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Provider{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "provider", "provider", "slurm"),
		stderrOf: make(map[provider.JobID]string),
	}, nil
}

// Submit writes the job's sbatch script and submits it.
func (p *Provider) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("submit slurm block: %w", err)
	}
	j = j.WithDefaults()
	if err := j.Validate(); err != nil {
		return "", fmt.Errorf("submit slurm block: %w", err)
	}
	dir, err := p.scriptDir(j)
	if err != nil {
		return "", fmt.Errorf("submit slurm block %s: %w", j.BlockID, err)
	}
	script, err := Script(j, dir)
	if err != nil {
		return "", fmt.Errorf("submit slurm block %s: %w", j.BlockID, err)
	}
	path := filepath.Join(dir, j.Name+".sbatch")
	if err := writePrivate(path, script); err != nil {
		return "", fmt.Errorf("submit slurm block %s: %w", j.BlockID, err)
	}
	res, err := p.cfg.Runner.Run(ctx, p.cfg.Sbatch, []string{"--parsable", path}, nil)
	if err != nil {
		return "", fmt.Errorf("submit slurm block %s: %w", j.BlockID, oneLine(err))
	}
	id, err := parseSubmit(string(res.Stdout))
	if err != nil {
		return "", fmt.Errorf("submit slurm block %s: %w", j.BlockID, err)
	}
	jobID := provider.JobID(id)
	p.remember(jobID, strings.ReplaceAll(filepath.Join(dir, j.Name+".%j.err"), "%j", id))
	p.log.Info("submitted block", "block", j.BlockID, "job", jobID, "script", path)
	return jobID, nil
}

// scriptDir returns the absolute directory for the job's files, creating
// it. Slurm resolves relative paths against the job's working directory,
// which need not be ours.
func (p *Provider) scriptDir(j provider.Job) (string, error) {
	if j.ScriptDir != "" {
		dir, err := filepath.Abs(j.ScriptDir)
		if err != nil {
			return "", fmt.Errorf("script dir: %w", err)
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("create script dir: %w", err)
		}
		return dir, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tempDir == "" {
		d, err := os.MkdirTemp("", "funcx-slurm-")
		if err != nil {
			return "", fmt.Errorf("create script dir: %w", err)
		}
		p.tempDir = d
	}
	return p.tempDir, nil
}

// writePrivate writes the script readable by its owner only: the job's
// environment carries the run's secret.
func writePrivate(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write sbatch script: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // an older file kept its mode
		f.Close()
		return fmt.Errorf("write sbatch script: %w", err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write sbatch script: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write sbatch script: %w", err)
	}
	return nil
}

func (p *Provider) remember(id provider.JobID, stderrPath string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.remembered) >= maxRemembered {
		delete(p.stderrOf, p.remembered[0])
		p.remembered = p.remembered[1:]
	}
	p.stderrOf[id] = stderrPath
	p.remembered = append(p.remembered, id)
}

// Cancel asks Slurm to end the jobs, in one scancel. Slurm ignores IDs of
// jobs that ended or that it does not know.
func (p *Provider) Cancel(ctx context.Context, ids []provider.JobID) error {
	args := make([]string, 0, len(ids))
	for _, id := range ids {
		if validJobID(string(id)) {
			args = append(args, string(id))
		}
	}
	if len(args) == 0 {
		return nil
	}
	res, err := p.cfg.Runner.Run(ctx, p.cfg.Scancel, args, nil)
	if err != nil && !onlyBenignCancelErrors(string(res.Stderr)) {
		return fmt.Errorf("cancel slurm jobs: %w", oneLine(err))
	}
	p.log.Info("cancelled jobs", "jobs", args)
	return nil
}

// onlyBenignCancelErrors reports whether scancel's complaints are only
// about jobs that have ended or are unknown, which Cancel ignores.
func onlyBenignCancelErrors(stderr string) bool {
	seen := false
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.Contains(line, "Invalid job id specified") &&
			!strings.Contains(line, "already completing or completed") {
			return false
		}
		seen = true
	}
	return seen
}

// oneLine puts a command error's stderr on one line, for logs and status
// displays: sbatch says what is wrong over several lines.
func oneLine(err error) error {
	var ce *provider.CommandError
	if errors.As(err, &ce) && strings.Contains(ce.Stderr, "\n") {
		var lines []string
		for l := range strings.Lines(ce.Stderr) {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		ce.Stderr = strings.Join(lines, "; ")
	}
	return err
}
