package client_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

func TestResultsHead(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 7, 1024, 1025, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			b := setup(t, clienttest.Config{}, nil)
			rs := make([]api.TaskResult, n)
			for i := range rs {
				rs[i].TaskID = fmt.Sprint(i)
			}
			b.srv.Complete(rs...)
			head, err := b.c.ResultsHead(b.ctx)
			if err != nil || head != int64(n) {
				t.Fatalf("ResultsHead = %d, %v; want %d", head, err, n)
			}
			if probes := b.srv.Requests("GET /v1/results"); probes > 30 {
				t.Fatalf("%d probes for %d results", probes, n)
			}
		})
	}
}

func TestResultsLongPoll(t *testing.T) {
	t.Parallel()
	b := setup(t, clienttest.Config{}, nil)
	b.srv.Complete(api.TaskResult{TaskID: "a"}, api.TaskResult{TaskID: "b"}, api.TaskResult{TaskID: "c"})

	page, err := b.c.Results(b.ctx, 0, 0, 2)
	if err != nil || len(page.Results) != 2 || page.Next != 2 {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = b.c.Results(b.ctx, page.Next, time.Minute, 0)
	if err != nil || len(page.Results) != 1 || page.Results[0].TaskID != "c" {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	// The poll waits for a result newer than the cursor.
	done := make(chan *api.ResultsPage)
	go func() {
		p, err := b.c.Results(b.ctx, page.Next, time.Minute, 0)
		if err != nil {
			t.Error(err)
		}
		done <- p
	}()
	b.srv.Complete(api.TaskResult{TaskID: "d"})
	if p := <-done; p == nil || len(p.Results) != 1 || p.Results[0].TaskID != "d" {
		t.Fatalf("long poll = %+v", p)
	}
}

func TestResultsPageTooLarge(t *testing.T) {
	t.Parallel()
	// Twenty results of 1 KiB each do not fit in a 4 KiB response: the
	// watcher asks for smaller pages until they do.
	b := setup(t, clienttest.Config{}, func(c *client.Config) { c.MaxResponseBytes = 4096 })
	inputs := make([]any, 20)
	fs, err := b.c.Executor(b.endpointID).Map(b.ctx, b.goFunc, inputs)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Repeat([]byte("x"), 1024)
	rs := make([]api.TaskResult, len(fs))
	for i, f := range fs {
		rs[i] = api.TaskResult{TaskID: f.TaskID(), Stdout: out}
	}
	b.srv.Complete(rs...)
	for _, f := range fs {
		if res, err := f.Result(b.ctx); err != nil || len(res.Stdout()) != len(out) {
			t.Fatalf("Result = %v, %v", res, err)
		}
	}
}
