package daemon

import (
	"context"
	"slices"
	"time"

	"github.com/funcx-go/funcx/endpoint/profile"
)

// How often run.json is brought up to date with the engine's blocks, and
// with a stop's progress once stopping.
const (
	blockRecordPeriod = time.Second
	stopRecordPeriod  = 100 * time.Millisecond
)

// record keeps run.json up to date until ctx ends: the blocks, so that a
// clean-up after a crash can cancel batch jobs, and once stopping is
// closed the stop's progress, which Stop shows.
func (s *server) record(ctx context.Context, stopping <-chan struct{}) {
	rec, _, err := s.p.Run()
	if err != nil {
		s.log.Error("reading run.json failed", "err", err)
		return
	}
	t := time.NewTicker(blockRecordPeriod)
	defer t.Stop()
	for {
		if s.update(&rec, &stopping, t) {
			if err := s.p.SaveRun(rec); err != nil {
				s.log.Error("recording the run failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-stopping:
		}
	}
}

// update brings rec up to date with the engine and reports whether it
// changed. Once stopping is closed it records the stop, sets stopping to
// nil (seen: it wakes the loop no more) and ticks faster.
func (s *server) update(rec *profile.RunRecord, stopping *<-chan struct{}, t *time.Ticker) bool {
	st := s.eng.Load().Status()
	var blocks []profile.BlockRecord
	for _, b := range st.Blocks.Blocks {
		if b.JobID != "" && !b.State.Terminal() {
			blocks = append(blocks, profile.BlockRecord{BlockID: b.ID, JobID: string(b.JobID)})
		}
	}
	changed := !slices.Equal(blocks, rec.Blocks)
	rec.Blocks = blocks
	if rec.Stopping != nil {
		if n := st.Interchange.InFlight; n != rec.Stopping.InFlight {
			rec.Stopping.InFlight = n
			changed = true
		}
		return changed
	}
	select {
	case <-*stopping:
		rec.Stopping = &profile.StopRecord{Since: time.Now(), InFlight: st.Interchange.InFlight}
		*stopping = nil
		t.Reset(stopRecordPeriod)
		return true
	default:
		return changed
	}
}
