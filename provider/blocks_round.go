package provider

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// round is one scaling round: poll job states if due, read the load, ask
// Plan, and carry out its decision. It returns the first submit error,
// which Start turns into its own; other errors are logged and kept for
// Snapshot.
func (m *BlockManager) round(ctx context.Context) error {
	if time.Since(m.lastStatusPoll) >= m.cfg.StatusInterval {
		m.pollStatus(ctx)
	}
	now := m.cfg.Clock()
	m.applyLoad(m.cfg.Load(), now)

	m.mu.Lock()
	in := ScalerInput{
		Outstanding:         m.outstanding,
		Blocks:              make([]BlockInfo, 0, len(m.blocks)),
		Submitted:           m.submitted,
		ConsecutiveFailures: m.failures,
		LastFailureAt:       m.lastFailureAt,
	}
	for _, b := range m.blocks {
		in.Blocks = append(in.Blocks, b.info())
	}
	m.mu.Unlock()

	d := Plan(m.cfg.Scaling, in, now)
	m.mu.Lock()
	m.lastDecision = d
	m.mu.Unlock()
	if d.Submit > 0 || len(d.Cancel) > 0 {
		m.log.Info("scaling", "submit", d.Submit, "cancel", len(d.Cancel), "reason", d.Reason)
	} else {
		m.log.Debug("scaling", "reason", d.Reason)
	}

	m.cancelBlocks(ctx, d.Cancel, now)
	for range d.Submit {
		if err := m.submitBlock(ctx, now); err != nil {
			// The scheduler refused one; the next ones would fare no
			// better, and the failure now backs submission off.
			return err
		}
	}
	return nil
}

func (b *block) info() BlockInfo {
	return BlockInfo{
		ID: b.id, JobID: b.jobID, State: b.state,
		SubmittedAt: b.submittedAt, StartedAt: b.startedAt,
		Connected: b.connected, ConnectedAt: b.connectedAt,
		Busy: b.busy, IdleSince: b.idleSince, Cancelling: b.cancelling,
	}
}

// pollStatus asks the provider for the state of every block not ended.
func (m *BlockManager) pollStatus(ctx context.Context) {
	m.lastStatusPoll = time.Now()
	m.mu.Lock()
	var ids []JobID
	for _, b := range m.blocks {
		if !b.state.Terminal() && b.jobID != "" {
			ids = append(ids, b.jobID)
		}
	}
	m.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	sts, err := m.cfg.Provider.Status(ctx, ids)
	if err == nil && len(sts) != len(ids) {
		err = fmt.Errorf("provider answered %d statuses for %d jobs", len(sts), len(ids))
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("polling block states failed", "error", err)
		}
		m.setError(fmt.Errorf("poll block states: %w", err))
		return
	}
	now := m.cfg.Clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	byJob := make(map[JobID]*block, len(m.blocks))
	for _, b := range m.blocks {
		if b.jobID != "" {
			byJob[b.jobID] = b
		}
	}
	for _, st := range sts {
		b := byJob[st.ID]
		if b == nil || b.state.Terminal() {
			continue
		}
		if st.State.Terminal() {
			m.end(b, st, now)
			continue
		}
		if st.State == JobRunning && b.startedAt.IsZero() {
			b.startedAt = now
		}
		if st.State != b.state {
			m.log.Info("block state", "block", b.id, "job", b.jobID, "from", b.state, "to", st.State, "message", st.Message)
		}
		b.state, b.message = st.State, st.Message
	}
	m.trimHistory()
}

// end records that a block's job has ended. Called with mu held.
func (m *BlockManager) end(b *block, st JobStatus, now time.Time) {
	state, msg := st.State, st.Message
	if b.endAs != JobUnknown && (state == JobCancelled || state == JobMissing) {
		// It ended because we cancelled it: say why.
		state, msg = b.endAs, joinMessages(b.endReason, msg)
	}
	everConnected := !b.connectedAt.IsZero()
	if !everConnected && b.endAs == JobUnknown {
		msg = joinMessages(msg, "no manager of the block ever connected")
	}
	b.state, b.message, b.exitCode, b.endedAt = state, msg, st.ExitCode, now
	b.connected, b.busy, b.managers, b.idleSince, b.cancelling = false, 0, 0, time.Time{}, false

	failed := b.endAs == JobUnknown && (state == JobFailed || state == JobMissing || !everConnected)
	attrs := []any{"block", b.id, "job", b.jobID, "state", state, "exit_code", st.ExitCode, "message", msg}
	if failed && !b.failureCounted {
		b.failureCounted = true
		m.failures++
		m.lastFailureAt = now
		m.log.Warn("block failed", append(attrs, "consecutive_failures", m.failures)...)
		return
	}
	m.log.Info("block ended", attrs...)
}

// applyLoad records what the interchange reports of each block.
func (m *BlockManager) applyLoad(load Load, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outstanding = load.Outstanding
	for _, b := range m.blocks {
		if b.state.Terminal() {
			continue
		}
		bl := load.Blocks[b.id]
		b.connected = bl.Connected || bl.Managers > 0
		b.managers, b.busy = bl.Managers, bl.Busy
		if !b.connected {
			b.idleSince = time.Time{}
			continue
		}
		if b.connectedAt.IsZero() {
			b.connectedAt = now
			m.failures = 0 // a block works again: the backoff is over
			m.log.Info("block connected", "block", b.id, "job", b.jobID, "managers", bl.Managers)
		}
		if b.state == JobPending || b.state == JobUnknown || b.state == JobHeld {
			// A connected manager proves the job runs, whatever the
			// last (possibly old) poll said.
			b.state = JobRunning
		}
		if b.startedAt.IsZero() {
			b.startedAt = now
		}
		switch {
		case bl.Busy > 0:
			b.idleSince = time.Time{}
		case !bl.IdleSince.IsZero():
			b.idleSince = bl.IdleSince
		case b.idleSince.IsZero():
			b.idleSince = now
		}
	}
}

// cancelBlocks carries out the scaler's cancellations in one provider
// call.
func (m *BlockManager) cancelBlocks(ctx context.Context, cs []Cancellation, now time.Time) {
	if len(cs) == 0 {
		return
	}
	m.mu.Lock()
	byID := make(map[string]*block, len(m.blocks))
	for _, b := range m.blocks {
		byID[b.id] = b
	}
	var ids []JobID
	for _, c := range cs {
		if b := byID[c.BlockID]; b != nil && b.jobID != "" {
			ids = append(ids, b.jobID)
		}
	}
	m.mu.Unlock()
	if err := m.cfg.Provider.Cancel(ctx, ids); err != nil {
		m.log.Error("cancelling blocks failed", "jobs", ids, "error", err)
		m.setError(fmt.Errorf("cancel blocks: %w", err))
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		b := byID[c.BlockID]
		if b == nil {
			continue
		}
		b.cancelling, b.endReason = true, c.Reason
		b.endAs = JobScaledIn
		if c.Failure {
			b.endAs = JobFailed
			b.failureCounted = true
			m.failures++
			m.lastFailureAt = now
			m.log.Warn("cancelling broken block", "block", b.id, "job", b.jobID, "reason", c.Reason, "consecutive_failures", m.failures)
			continue
		}
		m.log.Info("scaling in block", "block", b.id, "job", b.jobID, "reason", c.Reason)
	}
}

// submitBlock submits one block. A refused block is recorded as failed,
// with the scheduler's message, and counts toward backoff.
func (m *BlockManager) submitBlock(ctx context.Context, now time.Time) error {
	m.mu.Lock()
	id := strconv.Itoa(m.nextID)
	m.nextID++
	m.mu.Unlock()

	job := m.cfg.JobTemplate(id)
	job.BlockID = id
	jobID, err := m.cfg.Provider.Submit(ctx, job)

	m.mu.Lock()
	defer m.mu.Unlock()
	b := &block{id: id, jobID: jobID, submittedAt: now, state: JobPending}
	m.blocks = append(m.blocks, b)
	if err != nil {
		err = fmt.Errorf("submit block %s: %w", id, err)
		b.jobID, b.state, b.message, b.endedAt, b.failureCounted = "", JobFailed, err.Error(), now, true
		m.failures++
		m.lastFailureAt = now
		m.lastError, m.lastErrorAt = err.Error(), now
		m.log.Error("block failed to start", "block", id, "error", err, "consecutive_failures", m.failures)
		m.trimHistory()
		return err
	}
	m.submitted++
	m.log.Info("submitted block", "block", id, "job", jobID)
	return nil
}

func joinMessages(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}
