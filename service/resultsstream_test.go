package service_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// TestResultsStream reads GET /v1/results?stream=1 through a real HTTP
// server, page by page as results are stored.
func TestResultsStream(t *testing.T) {
	t.Parallel()

	// open starts a stream and checks that its status and type come
	// before any page.
	open := func(t *testing.T, b *bundle, u user, query string) *bufio.Reader {
		t.Helper()
		srv := httptest.NewServer(b.svc.Handler())
		t.Cleanup(srv.Close)
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+api.PathResults+"?"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+u.token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.ContentTypeResultsStream ||
			resp.Header.Get("X-Accel-Buffering") != "no" {
			data, _ := io.ReadAll(resp.Body)
			t.Fatalf("stream answered %d %v: %s", resp.StatusCode, resp.Header, data)
		}
		return bufio.NewReader(resp.Body)
	}
	// page reads the next page of a stream; nil at its end.
	page := func(t *testing.T, r *bufio.Reader) *api.ResultsPage {
		t.Helper()
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil {
			t.Fatalf("read a page: %v (read %q)", err, line)
		}
		var p api.ResultsPage
		if err := jsonUnmarshal(line, &p); err != nil {
			t.Fatalf("page %q: %v", line, err)
		}
		if len(p.Results) == 0 {
			t.Fatalf("a stream sent a page without results: %q", line)
		}
		return &p
	}
	// wantEnd checks that a stream ends without another page.
	wantEnd := func(t *testing.T, r *bufio.Reader) {
		t.Helper()
		if p := page(t, r); p != nil {
			t.Fatalf("a page after the last result: %+v", p)
		}
	}
	// threeTasks sets up alice's endpoint with three tasks submitted.
	threeTasks := func(t *testing.T) (b *bundle, ep string, ids []string) {
		b = setup(t)
		ep = b.registerEndpoint(t, b.alice)
		return b, ep, b.submit(t, b.alice, ep, b.registerFunction(t, b.alice, echo), 3)
	}
	taskIDs := func(p *api.ResultsPage) []string {
		var ids []string
		for _, r := range p.Results {
			ids = append(ids, r.TaskID)
		}
		return ids
	}

	t.Run("a page per commit, as results are stored, until the wait ends", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.registerEndpoint(t, b.alice)
		bobEp := b.registerEndpoint(t, b.bob)
		fn := b.registerFunction(t, b.alice, echo)
		ids := b.submit(t, b.alice, ep, fn, 3)
		bobIDs := b.submit(t, b.bob, bobEp, b.registerFunction(t, b.bob, echo), 1)
		r := open(t, b, b.alice, "after=0&wait=2s&stream=1")

		b.succeed(t, ep, ids[0])
		p := page(t, r)
		if got := taskIDs(p); len(got) != 1 || got[0] != ids[0] || p.Next != p.Results[0].Seq {
			t.Fatalf("first page %+v", p)
		}
		// Bob's result moves the newest seq past alice's cursor: her
		// stream must read the store again, and see only her own.
		b.succeed(t, bobEp, bobIDs[0])
		b.succeed(t, ep, ids[1], ids[2])
		p2 := page(t, r)
		if got := taskIDs(p2); len(got) != 2 || got[0] != ids[1] || got[1] != ids[2] || p2.Next != p2.Results[1].Seq || p2.Results[0].Seq <= p.Next {
			t.Fatalf("second page %+v after %+v", p2, p)
		}
		wantEnd(t, r)
	})

	t.Run("stored results come at once, limit per page", func(t *testing.T) {
		t.Parallel()
		b, ep, ids := threeTasks(t)
		b.succeed(t, ep, ids...)
		r := open(t, b, b.alice, "after=0&wait=1s&limit=2&stream=true")
		p1, p2 := page(t, r), page(t, r)
		if got := taskIDs(p1); len(got) != 2 || got[0] != ids[0] || got[1] != ids[1] || p1.Next != 2 {
			t.Fatalf("first page %+v", p1)
		}
		if got := taskIDs(p2); len(got) != 1 || got[0] != ids[2] || p2.Next != 3 {
			t.Fatalf("second page %+v", p2)
		}
		wantEnd(t, r)
	})

	t.Run("without a wait, one page at most", func(t *testing.T) {
		t.Parallel()
		b, ep, ids := threeTasks(t)
		if p := page(t, open(t, b, b.alice, "after=0&stream=1")); p != nil {
			t.Fatalf("a page without results: %+v", p)
		}
		b.succeed(t, ep, ids...)
		r := open(t, b, b.alice, "after=1&limit=1&stream=1")
		if p := page(t, r); len(p.Results) != 1 || p.Results[0].TaskID != ids[1] {
			t.Fatalf("page %+v", p)
		}
		wantEnd(t, r)
	})

	t.Run("stop ends streams", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := open(t, b, b.alice, "wait=60s&stream=1")
		if err := b.svc.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantEnd(t, r)
	})

	t.Run("a connection outlives its stream's write deadline", func(t *testing.T) {
		t.Parallel()
		b, ep, ids := threeTasks(t)
		b.svc.SetStreamWriteTimeout(300 * time.Millisecond)
		srv := httptest.NewServer(b.svc.Handler())
		t.Cleanup(srv.Close)
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.MaxConnsPerHost = 1 // the long poll reuses the stream's connection
		t.Cleanup(tr.CloseIdleConnections)
		get := func(query string) (data []byte, reused bool, err error) {
			trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", srv.URL+api.PathResults+"?"+query, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+b.alice.token)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				return nil, reused, err
			}
			defer resp.Body.Close()
			data, err = io.ReadAll(resp.Body)
			return data, reused, err
		}
		b.succeed(t, ep, ids[0])
		// A page is written at once, with its deadline; the stream ends.
		if data, _, err := get("after=0&wait=100ms&stream=1"); err != nil || len(data) == 0 {
			t.Fatalf("stream: %q, %v", data, err)
		}
		// A long poll on the same connection answers after that deadline.
		go func() {
			time.Sleep(600 * time.Millisecond)
			b.succeed(t, ep, ids[1])
		}()
		data, reused, err := get("after=1&wait=10s")
		if !reused {
			t.Fatal("the long poll did not reuse the stream's connection: the test proves nothing")
		}
		var p api.ResultsPage
		if err != nil || jsonUnmarshal(data, &p) != nil || len(p.Results) != 1 || p.Results[0].TaskID != ids[1] {
			t.Fatalf("long poll after the stream: %q, %v", data, err)
		}
	})

	t.Run("bad stream value", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		code, data := b.do(t, "GET", api.PathResults+"?stream=yes", b.alice.token, nil)
		wantError(t, code, data, http.StatusBadRequest, `stream "yes" is not 1 or 0`)
	})
}
