package slurm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/funcx-go/funcx/provider"
)

// Status reports the jobs' states in one squeue call for all of them,
// and one sacct call for those squeue no longer knows (see
// Config.StatusCommand). squeue comes first because it is slurmctld's
// own view: a cancelled job whose processes are still being killed is
// COMPLETING there (not ended yet), while the accounting database may
// already call it CANCELLED.
func (p *Provider) Status(ctx context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var ask []string
	for _, id := range ids {
		if validJobID(string(id)) {
			ask = append(ask, string(id))
		}
	}
	recs := make(map[string]record, len(ask))
	var sacctErr error
	if len(ask) > 0 {
		got, err := p.squeue(ctx, ask)
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			recs[r.ID] = r
		}
	}
	// Jobs squeue has forgotten (ended more than MinJobAge ago): sacct.
	var rest []string
	for _, id := range ask {
		if _, ok := recs[id]; !ok {
			rest = append(rest, id)
		}
	}
	if len(rest) > 0 && p.useSacct() {
		got, err := p.sacct(ctx, rest)
		switch {
		case err == nil:
			for _, r := range got {
				if _, ok := recs[r.ID]; !ok {
					recs[r.ID] = r
				}
			}
		case ctx.Err() != nil:
			return nil, err
		case accountingDisabled(err):
			p.mu.Lock()
			p.noAccounting = true
			p.mu.Unlock()
			p.log.Info("Slurm accounting is disabled: job states come from squeue alone")
		default:
			// slurmdbd down, say: what squeue knows still counts; the
			// rest is unknown until a later poll.
			sacctErr = err
			p.log.Warn("sacct failed", "jobs", rest, "error", err)
		}
	}
	out := make([]provider.JobStatus, len(ids))
	for i, id := range ids {
		r, ok := recs[string(id)]
		if !ok && sacctErr != nil && validJobID(string(id)) {
			out[i] = provider.JobStatus{ID: id, State: provider.JobUnknown,
				Message: "squeue no longer knows job " + string(id) + " and sacct failed: " + sacctErr.Error()}
			continue
		}
		if !ok {
			out[i] = provider.JobStatus{ID: id, State: provider.JobMissing,
				Message: "Slurm has no record of job " + string(id) + ": it ended and was forgotten (squeue keeps ended jobs for MinJobAge only), or it was never submitted"}
			continue
		}
		out[i] = p.status(id, r)
	}
	return out, nil
}

func (p *Provider) useSacct() bool {
	if p.cfg.StatusCommand == StatusSqueue {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.noAccounting
}

// accountingDisabled reports whether sacct failed because the cluster
// keeps no accounting, which will not change while we run.
func accountingDisabled(err error) bool {
	return strings.Contains(err.Error(), "accounting storage is disabled")
}

func (p *Provider) sacct(ctx context.Context, ids []string) ([]record, error) {
	args := []string{"--noheader", "--parsable2", "--allocations",
		"--jobs=" + strings.Join(ids, ","), "--format=" + sacctFormat}
	res, err := p.cfg.Runner.Run(ctx, p.cfg.Sacct, args, nil)
	if err != nil {
		var ce *provider.CommandError
		// sacct reports disabled accounting on stdout.
		if errors.As(err, &ce) && ce.Stderr == "" {
			ce.Stderr = strings.TrimSpace(string(res.Stdout))
		}
		return nil, fmt.Errorf("slurm job states: %w", oneLine(err))
	}
	recs, err := parseSacct(string(res.Stdout))
	if err != nil {
		return nil, fmt.Errorf("slurm job states: read sacct output: %w", err)
	}
	return recs, nil
}

func (p *Provider) squeue(ctx context.Context, ids []string) ([]record, error) {
	args := []string{"--noheader", "--states=all",
		"--jobs=" + strings.Join(ids, ","), "--Format=" + squeueFormat}
	res, err := p.cfg.Runner.Run(ctx, p.cfg.Squeue, args, nil)
	if err != nil {
		// squeue fails when none of the IDs is known (when some are, it
		// lists those): all of them are missing.
		if strings.Contains(string(res.Stderr), "Invalid job id specified") {
			return nil, nil
		}
		return nil, fmt.Errorf("slurm job states: %w", oneLine(err))
	}
	recs, err := parseSqueue(string(res.Stdout))
	if err != nil {
		return nil, fmt.Errorf("slurm job states: read squeue output: %w", err)
	}
	return recs, nil
}

// status turns a record into a JobStatus, with a message for people.
func (p *Provider) status(id provider.JobID, r record) provider.JobStatus {
	st := provider.JobStatus{ID: id, State: mapStateReason(r.State, r.Reason)}
	word, _, _ := strings.Cut(r.State, " ")
	switch st.State {
	case provider.JobPending, provider.JobHeld, provider.JobRunning:
		st.Message = r.Reason
		if st.State == provider.JobHeld && !strings.EqualFold(word, "PENDING") {
			st.Message = joinNonEmpty(": ", "Slurm state "+r.State, r.Reason)
		}
		return st
	case provider.JobUnknown:
		st.Message = joinNonEmpty(": ", fmt.Sprintf("Slurm state %q is not one funcx knows", r.State), r.Reason)
		return st
	}
	st.ExitCode = r.ExitCode
	switch st.State {
	case provider.JobCompleted:
		if r.Limit > 0 && r.Elapsed >= r.Limit {
			// Managers leave by themselves at the block's walltime; when
			// they beat Slurm's kill the job is COMPLETED, but it ended
			// because its time was up.
			st.State = provider.JobTimeout
			st.Message = fmt.Sprintf("ran to its time limit (%s): its managers left at the walltime", r.Limit)
		}
	case provider.JobTimeout:
		msg := "reached its time limit"
		if r.Limit > 0 {
			msg += " (" + r.Limit.String() + ")"
		}
		if !strings.EqualFold(word, "TIMEOUT") {
			msg = "Slurm state " + r.State
		}
		st.Message = joinNonEmpty(": ", msg, r.Reason)
	case provider.JobCancelled:
		st.Message = joinNonEmpty(": ", r.State, r.Reason)
	case provider.JobFailed:
		st.Message = joinNonEmpty(": ", "Slurm state "+r.State, r.Reason)
		if tail := p.stderrTail(id, r); tail != "" {
			st.Message = joinNonEmpty(": ", st.Message, "stderr: "+tail)
		}
	}
	return st
}

// stderrTail reads the end of the job's stderr file, when it is on a
// file system this process sees.
func (p *Provider) stderrTail(id provider.JobID, r record) string {
	p.mu.Lock()
	path := p.stderrOf[id]
	p.mu.Unlock()
	if path == "" && r.Stderr != "" {
		path = strings.ReplaceAll(r.Stderr, "%j", string(id))
	}
	if path == "" || strings.Contains(path, "%") {
		return ""
	}
	tail, err := provider.ReadTail(path, 0)
	if err != nil {
		return ""
	}
	return tail
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, s := range parts {
		if s != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, sep)
}
