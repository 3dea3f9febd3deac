package service

import (
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
//
// With stream=1 the answer is a stream of pages (api.ContentTypeResultsStream,
// one api.ResultsPage per line), each written as soon as its results are
// stored, until wait has passed: a client that keeps waiting for results
// sends one request per wait rather than one per page, and no new poll
// (a request, a read of the store) competes with its next submission.
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
	stream := false
	if v := q.Get("stream"); v != "" {
		if stream, err = strconv.ParseBool(v); err != nil {
			return badRequest("stream %q is not 1 or 0", v)
		}
	}

	p := s.newResultsPoll(who.ID, after, int(limit), wait)
	defer p.stop()
	if !stream {
		recs, err := p.next(r.Context())
		if err != nil || r.Context().Err() != nil {
			return err // the client has gone, or the read failed
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		// An error here is the client going away; there is no one to tell.
		_, _ = w.Write(appendResultsPage(nil, pageOf(recs, after)))
		return nil
	}
	return s.streamResults(w, r, p)
}

// streamWriteTimeout bounds the write of one page of a results stream: a
// client that stops reading loses its stream rather than holding the
// service's goroutine for the rest of the wait. net/http clears the
// deadline once the request is over, so a later request on the same
// connection is not cut by it.
const streamWriteTimeout = 30 * time.Second

// streamResults writes the poll's pages as they come, one per line,
// until its wait has passed, the service stops or the client goes.
func (s *Service) streamResults(w http.ResponseWriter, r *http.Request, p *resultsPoll) error {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", api.ContentTypeResultsStream)
	// A proxy that buffers the response would hold every page until the
	// stream ends; nginx reads this header and passes pages on at once.
	w.Header().Set("X-Accel-Buffering", "no")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// The status goes out at once, so that the client knows the service
	// streams before any result exists.
	if err := rc.Flush(); err != nil {
		return nil // the client has gone
	}
	var buf []byte
	for {
		after := p.after
		recs, err := p.next(r.Context())
		if err != nil {
			// Too late for an error status: the stream ends, and the
			// client's next poll gets the error if it lasts.
			s.log.Warn("results stream ended by a failed read", "identity", p.owner, "err", err)
			return nil
		}
		if len(recs) == 0 {
			return nil // the wait has passed, or the client has gone
		}
		buf = appendResultsPage(buf[:0], pageOf(recs, after)) // ends in a newline
		_ = rc.SetWriteDeadline(time.Now().Add(s.streamWriteTimeout))
		if _, err := w.Write(buf); err != nil {
			return nil // the client has gone
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// pageOf makes the page of recs, read after cursor after.
func pageOf(recs []ResultRecord, after int64) *api.ResultsPage {
	page := &api.ResultsPage{Results: make([]api.TaskResult, len(recs)), Next: after}
	for i := range recs {
		page.Results[i] = taskResult(&recs[i])
		page.Next = recs[i].Seq
	}
	return page
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
