package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// stopPollInterval is how often Stop asks the scheduler whether the
// cancelled blocks have ended: briefly, so faster than StatusInterval.
const stopPollInterval = 250 * time.Millisecond

// ErrAlreadyStarted is returned by Start on a BlockManager that has been
// started before.
var ErrAlreadyStarted = errors.New("block manager already started")

// BlockManager keeps the blocks of one endpoint at what Plan decides: it
// polls job states, reads the load, submits and cancels blocks, counts
// failures for backoff and, when stopped, cancels every block it
// submitted and waits until they have ended.
type BlockManager struct {
	cfg  BlockManagerConfig
	log  *slog.Logger
	poke chan struct{}

	life       sync.Mutex // serialises Start and Stop
	started    bool
	stopped    bool
	cancelLoop context.CancelFunc
	loopDone   chan struct{}

	// Written only by the goroutine that owns the round (Start's first
	// round, then the loop, then Stop), always under mu so that Snapshot
	// can read.
	mu             sync.Mutex
	blocks         []*block // in submission order
	nextID         int
	submitted      int
	outstanding    int
	failures       int
	lastFailureAt  time.Time
	lastDecision   Decision
	lastError      string
	lastErrorAt    time.Time
	lastStatusPoll time.Time // real time, for poll cadence
}

// block is the BlockManager's record of one block.
type block struct {
	id          string
	jobID       JobID
	state       JobState
	message     string
	exitCode    int
	submittedAt time.Time
	startedAt   time.Time
	endedAt     time.Time
	connected   bool
	connectedAt time.Time
	managers    int
	busy        int
	idleSince   time.Time
	cancelling  bool
	// endAs is the state to record when the job ends after we cancelled
	// it: JobScaledIn, JobFailed (broken) or JobCancelled (stop).
	endAs     JobState
	endReason string
	// failureCounted is set once the block has counted toward backoff.
	failureCounted bool
}

// NewBlockManager validates cfg and returns a BlockManager ready to Start.
func NewBlockManager(cfg BlockManagerConfig) (*BlockManager, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &BlockManager{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "blocks"),
		poke: make(chan struct{}, 1),
	}, nil
}

// Start runs the first scaling round and then keeps scaling in the
// background until Stop. The first round runs before Start returns and
// under ctx, so that blocks the scheduler refuses (bad partition,
// account, script) fail Start with the scheduler's message instead of
// only being logged; whatever that round did submit is then cancelled,
// and the BlockManager cannot be started again. ctx bounds only this
// first round.
func (m *BlockManager) Start(ctx context.Context) error {
	m.life.Lock()
	defer m.life.Unlock()
	switch {
	case m.stopped:
		return errors.New("start blocks: block manager was stopped; make a new one")
	case m.started:
		return ErrAlreadyStarted
	}
	m.started = true
	if err := m.round(ctx); err != nil {
		m.stopped = true
		if derr := m.drain(ctx); derr != nil {
			err = errors.Join(err, derr)
		}
		return fmt.Errorf("start blocks: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelLoop = cancel
	m.loopDone = make(chan struct{})
	go m.loop(loopCtx)
	return nil
}

func (m *BlockManager) loop(ctx context.Context) {
	defer close(m.loopDone)
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.poke:
		}
		// Errors are logged and kept for Snapshot; the next round retries.
		_ = m.round(ctx)
	}
}

// Poke runs a scaling round now instead of at the next interval, for
// example when new tasks arrive. It never blocks.
func (m *BlockManager) Poke() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// Stop ends scaling, cancels every block that has not ended and waits
// until the scheduler reports them all ended. Past ctx's deadline it
// returns an error wrapping ctx.Err(); calling Stop again resumes the
// wait. Stop before Start, and Stop after Stop, are fine.
func (m *BlockManager) Stop(ctx context.Context) error {
	m.life.Lock()
	defer m.life.Unlock()
	m.stopped = true
	if m.cancelLoop != nil {
		m.cancelLoop()
		select {
		case <-m.loopDone:
		case <-ctx.Done():
			return fmt.Errorf("stop blocks: wait for scaling loop: %w", ctx.Err())
		}
	}
	if err := m.drain(ctx); err != nil {
		return fmt.Errorf("stop blocks: %w", err)
	}
	return nil
}

// drain cancels the blocks that have not ended and waits until they have.
func (m *BlockManager) drain(ctx context.Context) error {
	m.mu.Lock()
	var ids []JobID
	for _, b := range m.blocks {
		if !b.state.Terminal() && b.jobID != "" {
			ids = append(ids, b.jobID)
			b.cancelling = true
			if b.endAs == JobUnknown {
				b.endAs, b.endReason = JobCancelled, "endpoint stopping"
			}
		}
	}
	m.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	m.log.Info("cancelling blocks", "count", len(ids))
	if err := m.cfg.Provider.Cancel(ctx, ids); err != nil {
		m.setError(err)
		return fmt.Errorf("cancel %d block(s): %w", len(ids), err)
	}
	t := time.NewTicker(stopPollInterval)
	defer t.Stop()
	for {
		m.pollStatus(ctx)
		left := m.unended()
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d block(s) to end: %w", left, ctx.Err())
		case <-t.C:
		}
	}
}

func (m *BlockManager) unended() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.blocks {
		if !b.state.Terminal() {
			n++
		}
	}
	return n
}

func (m *BlockManager) setError(err error) {
	m.mu.Lock()
	m.lastError, m.lastErrorAt = err.Error(), m.cfg.Clock()
	m.mu.Unlock()
}

// Snapshot is a BlockManager's state for status displays and tests.
type Snapshot struct {
	// Blocks lists the blocks not yet ended and the last History ended
	// ones, in submission order.
	Blocks []BlockSnapshot
	// ConsecutiveFailures counts blocks that failed in a row.
	ConsecutiveFailures int
	// BackoffUntil is set while submission is held back after failures.
	BackoffUntil time.Time
	// LastDecision is the last scaling round's reason.
	LastDecision string
	// LastError is the last error a scheduler returned, if any, and
	// LastErrorAt when.
	LastError   string
	LastErrorAt time.Time
}

// BlockSnapshot is one block in a Snapshot.
type BlockSnapshot struct {
	ID    string
	JobID JobID // empty if the scheduler refused the block
	State JobState
	// Message is the scheduler's last word on the block: why it is
	// pending, why it failed (the submit error, the tail of stderr), or
	// why we cancelled it.
	Message     string
	ExitCode    int
	SubmittedAt time.Time
	StartedAt   time.Time
	EndedAt     time.Time
	Connected   bool
	ConnectedAt time.Time
	Managers    int
	Busy        int
	IdleSince   time.Time
	Cancelling  bool
}

// Snapshot returns the current state of the blocks.
func (m *BlockManager) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Snapshot{
		Blocks:              make([]BlockSnapshot, 0, len(m.blocks)),
		ConsecutiveFailures: m.failures,
		BackoffUntil:        m.lastDecision.BackoffUntil,
		LastDecision:        m.lastDecision.Reason,
		LastError:           m.lastError,
		LastErrorAt:         m.lastErrorAt,
	}
	for _, b := range m.blocks {
		s.Blocks = append(s.Blocks, BlockSnapshot{
			ID: b.id, JobID: b.jobID, State: b.state, Message: b.message, ExitCode: b.exitCode,
			SubmittedAt: b.submittedAt, StartedAt: b.startedAt, EndedAt: b.endedAt,
			Connected: b.connected, ConnectedAt: b.connectedAt, Managers: b.managers, Busy: b.busy,
			IdleSince: b.idleSince, Cancelling: b.cancelling,
		})
	}
	return s
}

// trimHistory forgets the oldest ended blocks beyond History. Called
// with mu held.
func (m *BlockManager) trimHistory() {
	ended := 0
	for _, b := range m.blocks {
		if b.state.Terminal() {
			ended++
		}
	}
	drop := ended - m.cfg.History
	if drop <= 0 {
		return
	}
	m.blocks = slices.DeleteFunc(m.blocks, func(b *block) bool {
		if drop > 0 && b.state.Terminal() {
			drop--
			return true
		}
		return false
	})
}
