package service_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// A deleted endpoint's ID is refused to everyone, its owner too, with
// 410 and without naming the owner; no broker user is made for it.
func TestDeletedEndpointIDIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := uuid.NewString()
	b.mustDo(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{EndpointID: id, Name: "laptop"}, nil)
	if code, data := b.do(t, "DELETE", api.PathEndpoint+id, b.alice.token, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, data)
	}
	want := "endpoint ID " + id + " was deleted and is never reused; register without an endpoint_id to get a new one"
	for name, u := range map[string]user{"bob": b.bob, "alice": b.alice} {
		code, data := b.do(t, "POST", api.PathEndpoints, u.token, api.RegisterEndpointRequest{EndpointID: id, Name: "mine"})
		wantError(t, code, data, http.StatusGone, want)
		if strings.Contains(string(data), b.alice.id) || strings.Contains(string(data), "alice") {
			t.Fatalf("%s's refusal names the owner: %s", name, data)
		}
	}
	b.broker.mu.Lock()
	made := b.broker.ensured[id]
	b.broker.mu.Unlock()
	if made != 0 {
		t.Fatalf("the broker set up the deleted ID %d times after its deletion", made)
	}
	if fresh := b.registerEndpoint(t, b.alice); fresh == id {
		t.Fatalf("a registration without endpoint_id got the deleted ID")
	}
}

// Deleting an endpoint fails its waiting tasks with EndpointDeleted at
// once: the owner's long poll wakes with them, the task status says so,
// /metrics counts them, and a later submission says the endpoint was
// deleted.
func TestDeleteEndpointFailsWaitingTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	ids := b.submit(t, b.alice, ep, fn, 2)
	b.succeed(t, ep, ids[0]) // seq 1

	type polled struct {
		code    int
		page    api.ResultsPage
		elapsed time.Duration
	}
	ch := make(chan polled, 1)
	go func() {
		start := time.Now()
		code, data := b.do(t, "GET", api.PathResults+"?after=1&wait=60s", b.alice.token, nil)
		p := polled{code: code, elapsed: time.Since(start)}
		_ = jsonUnmarshal(data, &p.page)
		ch <- p
	}()
	time.Sleep(50 * time.Millisecond) // let the poll wait
	if code, data := b.do(t, "DELETE", api.PathEndpoint+ep, b.alice.token, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, data)
	}
	p := <-ch
	if p.code != http.StatusOK || len(p.page.Results) != 1 || p.elapsed > 30*time.Second {
		t.Fatalf("poll: %d %+v after %s, want the failed task at once", p.code, p.page, p.elapsed)
	}
	r := p.page.Results[0]
	if r.TaskID != ids[1] || r.State != "failed" || r.Error == nil || r.Error.Kind != "EndpointDeleted" ||
		r.Error.Message != "endpoint "+ep+" was deleted before the task had a result" {
		t.Fatalf("result %+v %+v", r, r.Error)
	}
	var st api.TaskStatus
	b.mustDo(t, "GET", api.PathTask+ids[1], b.alice.token, nil, &st)
	if st.State != "failed" || st.Result == nil || st.Result.Error.Kind != "EndpointDeleted" {
		t.Fatalf("status %+v", st)
	}
	b.mustDo(t, "GET", api.PathTask+ids[0], b.alice.token, nil, &st)
	if st.State != "success" {
		t.Fatalf("the finished task became %s", st.State)
	}
	if m := b.metrics(t); !strings.Contains(m, `funcx_service_tasks_failed_total{kind="EndpointDeleted"} 1`) {
		t.Fatalf("metrics lack the failed task:\n%s", m)
	}
	code, data := b.do(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: fn}}})
	wantError(t, code, data, http.StatusGone, "endpoint "+ep+" was deleted (its unfinished tasks failed with EndpointDeleted)")
}

// A deletion by another replica sharing the store, while this service
// still remembers the endpoint for submissions, refuses the submission
// in the store's transaction: nothing is stored or published.
func TestSubmitToAnEndpointDeletedElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	b.submit(t, b.alice, ep, fn, 1) // the endpoint is remembered now
	if _, err := b.store.DeleteEndpoint(context.Background(), ep, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	code, data := b.do(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: fn, TaskID: id}}})
	wantError(t, code, data, http.StatusGone, "endpoint "+ep+" was deleted")
	if n := len(b.broker.published(ep)); n != 1 {
		t.Fatalf("%d batches published, want only the first", n)
	}
	code, data = b.do(t, "GET", api.PathTask+id, b.alice.token, nil)
	wantError(t, code, data, http.StatusNotFound, "not found")
}

// The service accepts a result only from the registration its task was
// routed to: another endpoint's result is dropped and counted as
// foreign, one for a task of another registration as stale; the owner's
// re-registration (a restart) keeps its tasks' results coming.
func TestResultOnlyFromItsRegistration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	epA, epB := b.registerEndpoint(t, b.alice), b.registerEndpoint(t, b.bob)
	ids := b.submit(t, b.alice, epA, b.registerFunction(t, b.alice, echo), 3)

	b.broker.deliver(t, epB, broker.Message{Results: []funcx.Result{{TaskID: mustParse(t, ids[0]), State: funcx.StateSuccess, Stdout: []byte("bob's\n")}}})
	var st api.TaskStatus
	b.mustDo(t, "GET", api.PathTask+ids[0], b.alice.token, nil, &st)
	if st.State != "waiting-for-ep" || st.Result != nil {
		t.Fatalf("bob's endpoint reported alice's task: %+v %+v", st, st.Result)
	}

	// A restart: the endpoint registers again, and results of tasks
	// routed before it are accepted (the journal re-runs them).
	b.mustDo(t, "POST", api.PathEndpoints, b.alice.token, api.RegisterEndpointRequest{EndpointID: epA, Name: "ep"}, nil)
	b.succeed(t, epA, ids[0])
	b.mustDo(t, "GET", api.PathTask+ids[0], b.alice.token, nil, &st)
	if st.State != "success" || string(st.Result.Stdout) != "hi\n" {
		t.Fatalf("after a restart: %+v %+v", st, st.Result)
	}

	// A task stamped with another registration of epA (unreachable
	// through the API, since IDs are never reused).
	tid := mustParse(t, ids[1])
	b.execSQL(t, fmt.Sprintf(`UPDATE tasks SET incarnation = incarnation + 1000 WHERE id = x'%x'`, tid[:]))
	b.succeed(t, epA, ids[1], ids[2])
	b.mustDo(t, "GET", api.PathTask+ids[1], b.alice.token, nil, &st)
	if st.State != "waiting-for-ep" {
		t.Fatalf("a result of another registration was stored: %+v", st)
	}
	m := b.metrics(t)
	for _, want := range []string{
		`funcx_service_dropped_results_total{reason="foreign_task"} 1`,
		`funcx_service_dropped_results_total{reason="stale_registration"} 1`,
		"funcx_service_tasks_completed_total 2",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// execSQL runs a statement on the store's file behind the service's back,
// to set up what the API cannot.
func (b *bundle) execSQL(t *testing.T, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", b.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
