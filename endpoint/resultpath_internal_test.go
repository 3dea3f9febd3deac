package endpoint

import (
	"context"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/journal"
)

// A result the broker confirmed is not written to the journal's outbox:
// its task waits in the task table for the publisher's next Confirm,
// which records it as done. Only results the broker did not take (a
// failed publish, or none for want of a connection) go to the outbox.
// Before, recordLoop wrote every result to the outbox while its publish
// was under way: a journal commit, two fsyncs, per result batch on top of
// the task's own, which on a quiet endpoint (a task at a time) doubled
// the endpoint's fsyncs and slowed every other step of the task.
func TestConfirmedResultsSkipTheOutbox(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	tasks := newTasks(6)
	if _, err := j.AddTasks(ctx, tasks); err != nil {
		t.Fatal(err)
	}
	r := &runner{j: j, log: slog.New(slog.DiscardHandler), published: make(chan struct{}, 1)}
	results := resultsOf(tasks)
	idsOf := func(rs []funcx.Result) []funcx.TaskID {
		out := make([]funcx.TaskID, len(rs))
		for i := range rs {
			out[i] = rs[i].TaskID
		}
		return out
	}
	// answered is publishDirect's wait for a publish the broker answered.
	answered := func(rs []funcx.Result, confirmed bool) func() bool {
		ids := idsOf(rs)
		r.sent.start(ids)
		return func() bool { r.sent.finish(ids, confirmed); return confirmed }
	}
	queue := make(chan toRecord, 3)
	queue <- toRecord{results: results[:2], direct: answered(results[:2], true)}
	queue <- toRecord{results: results[2:4], direct: answered(results[2:4], false)}
	queue <- toRecord{results: results[4:]} // no connection: not published
	close(queue)
	r.recordLoop(queue)

	if got := r.recorded.Load(); got != 6 {
		t.Fatalf("recorded = %d, want 6", got)
	}
	if !r.unsent.Load() {
		t.Fatal("the outbox holds unpublished results but is not marked unsent")
	}
	outbox, err := j.Outbox(100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(outbox), ids(results[2:]); !maps.Equal(got, want) {
		t.Fatalf("the outbox holds %d results %v, want only the 4 the broker did not confirm %v", len(got), got, want)
	}
	if s := j.Stats(); s.Tasks != 2 {
		t.Fatalf("journal: %+v, want the 2 confirmed tasks still journaled until the publisher's Confirm", s)
	}
	confirmed := r.sent.takeConfirmed()
	got := map[funcx.TaskID]bool{}
	for _, id := range confirmed {
		got[id] = true
	}
	if want := ids(results[:2]); !maps.Equal(got, want) {
		t.Fatalf("confirmed = %v, want %v", got, want)
	}
	if err := j.Confirm(ctx, confirmed); err != nil {
		t.Fatal(err)
	}
	if s := j.Stats(); s.Tasks != 0 || s.Done != 2 || s.Outbox != 4 {
		t.Fatalf("after the publisher's Confirm: %+v, want 0 tasks, 2 done, 4 in the outbox", s)
	}
}
