package service

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// handleResults answers GET /v1/results?after=SEQ&wait=DURATION&limit=N
// with the caller's results with seq > after, oldest first. With wait, it
// returns as soon as there is at least one, or with none once wait has
// passed (wait is capped at Config.MaxWait; a longer one is shortened,
// not refused, so that SDKs can ask for "as long as you allow").
func (s *Service) handleResults(w http.ResponseWriter, r *http.Request, who Identity) error {
	q := r.URL.Query()
	after, err := queryInt(q.Get("after"), "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(q.Get("limit"), "limit", int64(s.cfg.MaxResultsPage), 1, int64(s.cfg.MaxResultsPage))
	if err != nil {
		return err
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			return badRequest("wait %q is not a duration like \"20s\"", v)
		}
		wait = min(wait, s.cfg.MaxWait)
	}

	var timeout, recheck <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
		if _, shared := s.store.(SharedStore); shared {
			// Another replica's results wake this poll through the
			// store's changes; a missed change costs at most this long.
			tick := time.NewTicker(s.cfg.SharedRecheck)
			defer tick.Stop()
			recheck = tick.C
		}
	}
	for {
		// Take the wait before reading, so that results stored after
		// the read still wake this poll.
		wt := s.notify.wait(who.ID)
		recs, err := s.store.Results(r.Context(), who.ID, after, int(limit))
		if err != nil {
			return fmt.Errorf("read results: %w", err)
		}
		if len(recs) == 0 && timeout != nil {
			select {
			case <-wt.done():
				// The results that woke the poll, unless the store must
				// be read to be sure to get all of them.
				var ok bool
				if recs, ok = wt.page(after, int(limit)); !ok || len(recs) == 0 {
					continue
				}
			case <-recheck:
				continue
			case <-timeout:
				timeout = nil // answer with what the next read finds
				continue
			case <-s.stopping:
				timeout = nil
				continue
			case <-r.Context().Done():
				return nil // the client has gone
			}
		}
		page := api.ResultsPage{Results: make([]api.TaskResult, len(recs)), Next: after}
		for i := range recs {
			page.Results[i] = taskResult(&recs[i])
			page.Next = recs[i].Seq
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		// An error here is the client going away; there is no one to tell.
		_, _ = w.Write(appendResultsPage(nil, &page))
		return nil
	}
}

// queryInt parses an integer query parameter within [lo, hi]; empty is
// def.
func queryInt(v, name string, def, lo, hi int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s %q is not an integer in %d..%d", name, v, lo, hi)
	}
	return n, nil
}
