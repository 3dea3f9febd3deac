package profile

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// RunRecord is run.json: what a running daemon's engine has started, so
// that a clean-up after a crash finds it. The daemon writes it when its
// engine is built (before any block starts) and whenever its blocks
// change; a clean stop removes it.
type RunRecord struct {
	// RunID is the engine's run ID: every manager and worker process of
	// the run carries it as FUNCX_RUN_ID.
	RunID string `json:"run_id"`
	// PID is the daemon's process ID.
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// ProviderType is provider.type of the run.
	ProviderType string `json:"provider_type"`
	// Blocks are the blocks submitted and not known to have ended.
	Blocks []BlockRecord `json:"blocks,omitempty"`
	// StopGrace is the run's stop grace period (stop_grace), so that
	// stop knows how long to wait.
	StopGrace time.Duration `json:"stop_grace,omitempty"`
	// Stopping is set once the daemon is stopping.
	Stopping *StopRecord `json:"stopping,omitempty"`
}

// StopRecord is how far a stopping daemon has got.
type StopRecord struct {
	// Since is when the stop began.
	Since time.Time `json:"since"`
	// InFlight is the number of tasks still running (or queued at a
	// manager).
	InFlight int `json:"in_flight"`
}

// BlockRecord is one block of a run: the scheduler's job ID.
type BlockRecord struct {
	BlockID string `json:"block_id"`
	JobID   string `json:"job_id"`
}

// SaveRun writes run.json.
func (p *Profile) SaveRun(r RunRecord) error { return writeJSON(p.Path(RunFile), r) }

// Run reads run.json; ok is false if there is none.
func (p *Profile) Run() (r RunRecord, ok bool, err error) {
	ok, err = readJSON(p.Path(RunFile), &r)
	return r, ok, err
}

// RemoveRun removes run.json.
func (p *Profile) RemoveRun() error {
	if err := os.Remove(p.Path(RunFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
