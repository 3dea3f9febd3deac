package service_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

// status asks for the tasks' status and returns those the service
// answers for, by ID, with whether each has a result.
func status(t *testing.T, b *bundle, u user, ids ...string) map[string]bool {
	t.Helper()
	var st api.TaskStatusList
	b.mustDo(t, "POST", api.PathTaskStatus, u.token, api.TaskStatusRequest{TaskIDs: ids}, &st)
	out := make(map[string]bool, len(st.Tasks))
	for _, s := range st.Tasks {
		out[s.TaskID] = s.Result != nil
	}
	return out
}

func TestResultTTLDefault(t *testing.T) {
	t.Parallel()
	if got := (service.Config{}).WithDefaults().ResultTTL; got != 7*24*time.Hour {
		t.Fatalf("default ResultTTL %s, want 7 days", got)
	}
}

// Results older than the TTL go with their tasks, in several batches
// when there are many; younger results and tasks without a result stay.
func TestResultTTL(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.ResultTTL, c.TokenTTL = time.Hour, 24*time.Hour })
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	var old []string
	for range 3 {
		ids := b.submit(t, b.alice, ep, fn, 400) // more than one retention batch
		b.succeed(t, ep, ids...)
		old = append(old, ids...)
	}
	late := b.submit(t, b.alice, ep, fn, 2)
	waiting := b.submit(t, b.alice, ep, fn, 1)
	b.clock.Add(30 * time.Minute)
	if n := b.svc.RetainNow(context.Background()); n != 0 {
		t.Fatalf("deleted %d results younger than the TTL", n)
	}
	b.succeed(t, ep, late...)
	b.clock.Add(45 * time.Minute) // the first results are 75 minutes old, the late ones 45
	if n := b.svc.RetainNow(context.Background()); n != len(old) {
		t.Fatalf("deleted %d results, want the %d expired", n, len(old))
	}
	got := status(t, b, b.alice, append(append([]string{old[0], old[len(old)-1]}, late...), waiting...)...)
	if len(got) != 3 || !got[late[0]] || !got[late[1]] || got[waiting[0]] {
		t.Fatalf("tasks left %v, want the 2 late ones with results and the waiting one", got)
	}
	code, data := b.do(t, "GET", api.PathTask+old[0], b.alice.token, nil)
	wantError(t, code, data, http.StatusNotFound, "not found")
	var page api.ResultsPage
	b.mustDo(t, "GET", api.PathResults+"?after=0", b.alice.token, nil, &page)
	if len(page.Results) != 2 {
		t.Fatalf("results page after retention: %d results, want the 2 late ones", len(page.Results))
	}
	if m := b.metrics(t); !strings.Contains(m, `funcx_service_results_deleted_total{reason="expired"} 1200`) {
		t.Fatalf("metrics do not count the expired results:\n%s", m)
	}
	// A late duplicate of a deleted task's result is not stored again.
	b.succeed(t, ep, old[0])
	if got := status(t, b, b.alice, old[0]); len(got) != 0 {
		t.Fatalf("a deleted task came back: %v", got)
	}
}

// A negative TTL keeps results for ever.
func TestResultTTLNegativeKeeps(t *testing.T) {
	t.Parallel()
	const years = 10 * 365 * 24 * time.Hour
	b := setup(t, func(c *service.Config) { c.ResultTTL, c.TokenTTL = -1, 2*years })
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	ids := b.submit(t, b.alice, ep, fn, 2)
	b.succeed(t, ep, ids...)
	b.clock.Add(years)
	if n := b.svc.RetainNow(context.Background()); n != 0 {
		t.Fatalf("deleted %d results with a negative TTL", n)
	}
	if got := status(t, b, b.alice, ids...); len(got) != 2 {
		t.Fatalf("tasks left %v", got)
	}
}

// With DeleteFetched, a result read by task ID is deleted with its task
// once answered; an unfinished task read so stays, and so do other
// results. Without it, results stay.
func TestDeleteFetched(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.DeleteFetched = true })
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	ids := b.submit(t, b.alice, ep, fn, 4)
	b.succeed(t, ep, ids[:3]...)

	if got := status(t, b, b.alice, ids[0], ids[3]); len(got) != 2 || !got[ids[0]] || got[ids[3]] {
		t.Fatalf("first read: %v", got)
	}
	var one api.TaskStatus
	b.mustDo(t, "GET", api.PathTask+ids[1], b.alice.token, nil, &one)
	if one.Result == nil {
		t.Fatalf("GET task: %+v", one)
	}
	// bob asking for alice's tasks deletes nothing.
	if got := status(t, b, b.bob, ids[2]); len(got) != 0 {
		t.Fatalf("bob sees %v", got)
	}
	if got := status(t, b, b.alice, ids...); len(got) != 2 || !got[ids[2]] || got[ids[3]] {
		t.Fatalf("second read: %v, want only the unread result and the unfinished task", got)
	}
	if m := b.metrics(t); !strings.Contains(m, `funcx_service_results_deleted_total{reason="fetched"} 3`) {
		t.Fatalf("metrics do not count the fetched results:\n%s", m)
	}

	keep := setup(t)
	ep = keep.registerEndpoint(t, keep.alice)
	fn = keep.registerFunction(t, keep.alice, echo)
	ids = keep.submit(t, keep.alice, ep, fn, 1)
	keep.succeed(t, ep, ids...)
	status(t, keep, keep.alice, ids...)
	if got := status(t, keep, keep.alice, ids...); !got[ids[0]] {
		t.Fatal("a fetched result was deleted without DeleteFetched")
	}
}
