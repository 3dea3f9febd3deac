package service

import (
	"context"
	"fmt"
	"time"
)

// resultsPoll is one GET /v1/results: it reads an owner's results after
// a cursor, page by page, waiting for new ones until its wait has
// passed. A plain long poll takes one page from it, a stream all of
// them.
type resultsPoll struct {
	s     *Service
	owner string
	after int64 // the cursor: the seq of the last result returned
	limit int

	timeout <-chan time.Time // nil once the wait has passed (or for no wait)
	recheck <-chan time.Time // a SharedStore's periodic read; nil otherwise
	timer   *time.Timer      // timeout's; nil for no wait
	ticker  *time.Ticker     // recheck's

	// caughtUp: the last page ended at the newest result the service had
	// announced when the next wait began (see next).
	caughtUp bool
	done     bool // the wait has passed and its last read was returned
}

func (s *Service) newResultsPoll(owner string, after int64, limit int, wait time.Duration) *resultsPoll {
	p := &resultsPoll{s: s, owner: owner, after: after, limit: limit}
	if wait > 0 {
		p.timer = time.NewTimer(wait)
		p.timeout = p.timer.C
		if _, shared := s.store.(SharedStore); shared {
			// Another replica's results wake this poll through the
			// store's changes; a missed change costs at most this long.
			p.ticker = time.NewTicker(s.cfg.SharedRecheck)
			p.recheck = p.ticker.C
		}
	}
	return p
}

func (p *resultsPoll) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.ticker != nil {
		p.ticker.Stop()
	}
}

// next returns the owner's next results after the cursor and moves the
// cursor past them: at once if there are some, else as soon as some are
// stored, else none once the wait has passed, the service is stopping
// or ctx has ended. After the wait it returns one last read, then
// nothing.
func (p *resultsPoll) next(ctx context.Context) ([]ResultRecord, error) {
	if p.done {
		return nil, nil
	}
	for {
		// Take the wait before reading, so that results stored after
		// the read still wake this poll.
		wt := p.s.notify.wait(p.owner)
		var recs []ResultRecord
		// Right after a page that reached the newest result announced,
		// the store holds nothing newer that the wait will not announce
		// (wait.last is announced results, of any owner, and each store
		// announces its commits, or its replicas' through their
		// changes): a stream's next page does not cost a read.
		if !p.caughtUp || wt.last != p.after {
			var err error
			if recs, err = p.s.store.Results(ctx, p.owner, p.after, p.limit); err != nil {
				return nil, fmt.Errorf("read results: %w", err)
			}
		}
		p.caughtUp = false
		if len(recs) == 0 && p.timeout != nil {
			select {
			case <-wt.done():
				// The results that woke the poll, unless the store must
				// be read to be sure to get all of them.
				var ok bool
				if recs, ok = wt.page(p.after, p.limit); !ok || len(recs) == 0 {
					continue
				}
			case <-p.recheck:
				continue
			case <-p.timeout:
				p.timeout = nil // answer with what the next read finds
				continue
			case <-p.s.stopping:
				p.timeout = nil
				continue
			case <-ctx.Done():
				p.done = true
				return nil, nil // the client has gone
			}
		}
		if p.timeout == nil {
			p.done = true
		}
		if n := len(recs); n > 0 {
			p.after = recs[n-1].Seq
			p.caughtUp = true
		}
		return recs, nil
	}
}
