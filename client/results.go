package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// Results returns one page of the caller's results newer than the cursor
// after, in completion order; ask for the next page with page.Next. With
// wait > 0 it is a long poll: the service answers as soon as a result
// newer than after exists, or with an empty page after wait (capped at
// api.MaxWait). limit caps the page; 0 leaves it to the service.
func (c *Client) Results(ctx context.Context, after int64, wait time.Duration, limit int) (*api.ResultsPage, error) {
	q, wait := resultsQuery(after, wait, limit)
	var page api.ResultsPage
	k := call{method: http.MethodGet, path: api.PathResults, query: q, out: &page, idempotent: true, extraTimeout: wait,
		decode: func(data []byte, out any) error { return decodeResultsPage(data, out.(*api.ResultsPage)) }}
	if err := c.do(ctx, k); err != nil {
		return nil, fmt.Errorf("get results after %d: %w", after, err)
	}
	return &page, nil
}

// resultsQuery is the query of GET /v1/results, with wait capped at
// api.MaxWait.
func resultsQuery(after int64, wait time.Duration, limit int) (url.Values, time.Duration) {
	wait = min(max(wait, 0), api.MaxWait)
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "wait": {wait.String()}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q, wait
}

// ResultsHead returns the cursor of the newest stored result (0 if there
// is none), so that a reader can start at "now" instead of paging through
// the identity's whole history. It probes with one-result pages: doubling
// steps past the oldest result until a page is empty, then a binary
// search, about 2·log2(results) small requests. Results stored while it
// runs may or may not be counted.
func (c *Client) ResultsHead(ctx context.Context) (int64, error) {
	// lo is a cursor known to have a result; hi one known to have none
	// newer; the newest result lies in [lo, hi].
	lo, ok, err := c.firstNewer(ctx, 0)
	if err != nil || !ok {
		return 0, err
	}
	step := max(lo, 1024)
	var hi int64
	for {
		next, ok, err := c.firstNewer(ctx, lo+step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		if step > 1<<58 {
			return 0, fmt.Errorf("find the newest result: the cursor passed %d without end", lo)
		}
		lo, step = next, step*2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		next, ok, err := c.firstNewer(ctx, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = next
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// firstNewer returns the cursor of a result newer than after, if any.
func (c *Client) firstNewer(ctx context.Context, after int64) (int64, bool, error) {
	page, err := c.Results(ctx, after, 0, 1)
	if err != nil {
		return 0, false, fmt.Errorf("find the newest result: %w", err)
	}
	if len(page.Results) == 0 {
		return 0, false, nil
	}
	seq := max(page.Next, maxSeq(page.Results))
	if seq <= after {
		// A service whose cursor does not move would make the search
		// loop forever.
		return 0, false, fmt.Errorf("find the newest result: the service answered cursor %d for results after %d", seq, after)
	}
	return seq, true, nil
}

// maxSeq returns the largest Seq among rs.
func maxSeq(rs []api.TaskResult) int64 {
	var m int64
	for i := range rs {
		m = max(m, rs[i].Seq)
	}
	return m
}
