package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// Run runs the conformance suite against env, each check a parallel
// subtest with a database of its own.
func Run(t *testing.T, env Env) {
	env = env.withDefaults(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, setup(t, env))
		})
	}
}

var cases = []struct {
	name string
	run  func(*testing.T, *bundle)
}{
	{"Identities", testIdentities},
	{"Tokens", testTokens},
	{"Functions", testFunctions},
	{"RegisterEndpoint", testRegisterEndpoint},
	{"EndpointIDs", testEndpointIDs},
	{"Heartbeats", testHeartbeats},
	{"DeletedEndpointIDIsNeverReused", testDeletedEndpointIDIsNeverReused},
	{"DeleteEndpointFailsItsTasks", testDeleteEndpointFailsItsTasks},
	{"ForgetNewEndpoint", testForgetNewEndpoint},
	{"DeleteIdentityCascades", testDeleteIdentityCascades},
	{"AddTasksRefusesMissingEndpoints", testAddTasksRefusesMissingEndpoints},
	{"ResubmissionMovesUnpublished", testResubmissionMovesUnpublished},
	{"TaskIDConflict", testTaskIDConflict},
	{"AddTasksBatch", testAddTasksBatch},
	{"DeleteUnpublished", testDeleteUnpublished},
	{"Unpublished", testUnpublished},
	{"TasksOfOwner", testTasksOfOwner},
	{"FirstTerminalResultWins", testFirstTerminalResultWins},
	{"StoreResultsBatch", testStoreResultsBatch},
	{"ResultAcceptedOnlyFromItsRegistration", testResultAcceptedOnlyFromItsRegistration},
	{"ResultsPaging", testResultsPaging},
	{"Persists", testPersists},
	{"ConcurrentWritersKeepSeqOrder", testConcurrentWritersKeepSeqOrder},
	{"FirstResultWinsAcrossStores", testFirstResultWinsAcrossStores},
	{"ConcurrentSubmissionsOfOneTask", testConcurrentSubmissionsOfOneTask},
	{"DeleteEndpointRacingSubmissions", testDeleteEndpointRacingSubmissions},
	{"RegisterRacingDelete", testRegisterRacingDelete},
	{"DeleteExpiredResults", testDeleteExpiredResults},
	{"DeleteExpiredStopsAtUnexpired", testDeleteExpiredStopsAtUnexpired},
	{"DeleteResults", testDeleteResults},
	{"RetentionRacingWriters", testRetentionRacingWriters},
}

// bundle is one subtest's store and helpers.
type bundle struct {
	env Env
	st  service.Store

	mu     sync.Mutex
	closed map[service.Store]bool
}

func setup(t *testing.T, env Env) *bundle {
	t.Helper()
	b := &bundle{env: env, closed: make(map[service.Store]bool)}
	b.st = b.own(t, env.NewStore(t))
	return b
}

// own closes st when the subtest ends, unless close did before.
func (b *bundle) own(t *testing.T, st service.Store) service.Store {
	t.Cleanup(func() { b.close(t, st) })
	return st
}

// close closes st once.
func (b *bundle) close(t *testing.T, st service.Store) {
	b.mu.Lock()
	done := b.closed[st]
	b.closed[st] = true
	b.mu.Unlock()
	if !done {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	}
}

// another returns a second store on the subtest's database.
func (b *bundle) another(t *testing.T) service.Store { return b.own(t, b.env.Reopen(t, b.st)) }

// restart closes the subtest's store and opens it again.
func (b *bundle) restart(t *testing.T) {
	b.close(t, b.st)
	b.st = b.own(t, b.env.Reopen(t, b.st))
}

// ctx bounds one step of a subtest.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// now is the time the subtests store; a fixed one, so that times read
// back compare exactly.
var now = time.Unix(1000, 0)

// identities creates identities with these IDs (their names too, and
// client IDs "c"+ID).
func (b *bundle) identities(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		rec := service.IdentityRecord{Identity: service.Identity{ID: id, Name: id, ClientID: "c" + id, CreatedAt: now}, SecretHash: []byte{1, 2, 3}}
		if err := b.st.CreateIdentity(ctx(t), rec); err != nil {
			t.Fatalf("CreateIdentity(%s): %v", id, err)
		}
	}
}

// register registers endpoint id as owner's and returns it as stored.
func (b *bundle) register(t *testing.T, id, owner string) service.Endpoint {
	t.Helper()
	if _, err := b.st.RegisterEndpoint(ctx(t), service.Endpoint{ID: id, Owner: owner, Name: "ep-" + id, RegisteredAt: now}); err != nil {
		t.Fatalf("register %s as %s: %v", id, owner, err)
	}
	ep, err := b.st.Endpoint(ctx(t), id)
	if err != nil {
		t.Fatalf("Endpoint(%s): %v", id, err)
	}
	return ep
}

// function registers owner's shell function id.
func (b *bundle) function(t *testing.T, id, owner string) {
	t.Helper()
	if err := b.st.CreateFunction(ctx(t), service.FunctionRecord{ID: id, Owner: owner, Name: id, Function: funcx.Command("true"), CreatedAt: now}); err != nil {
		t.Fatalf("CreateFunction(%s): %v", id, err)
	}
}

// world stores identity "a" with endpoint "e1" and function "f1": what
// tasks need.
func (b *bundle) world(t *testing.T) {
	t.Helper()
	b.identities(t, "a")
	b.register(t, "e1", "a")
	b.function(t, "f1", "a")
}

// task is a new task of owner's function f1 on endpoint ep.
func task(owner, ep string) service.TaskRecord {
	return service.TaskRecord{ID: funcx.NewTaskID(), Owner: owner, EndpointID: ep, FunctionID: "f1", Submitted: now}
}

// addTasks stores n waiting tasks of owner's function f1 on endpoint ep
// in one submission, through st, and returns their IDs.
func addTasks(t *testing.T, st service.Store, owner, ep string, n int) []funcx.TaskID {
	t.Helper()
	recs := make([]service.TaskRecord, n)
	ids := make([]funcx.TaskID, n)
	for i := range recs {
		recs[i] = task(owner, ep)
		ids[i] = recs[i].ID
	}
	if _, err := st.AddTasks(ctx(t), recs); err != nil {
		t.Fatalf("AddTasks(%d tasks on %s): %v", n, ep, err)
	}
	return ids
}

// success returns a success result for each task.
func success(ids ...funcx.TaskID) []funcx.Result {
	rs := make([]funcx.Result, len(ids))
	for i, id := range ids {
		rs[i] = funcx.Result{TaskID: id, State: funcx.StateSuccess, Output: []byte(`"ok"`), Worker: 1}
	}
	return rs
}

// allResults reads every result of owner after seq after, page by page.
func allResults(t *testing.T, st service.Store, owner string, after int64) []service.ResultRecord {
	t.Helper()
	var out []service.ResultRecord
	for {
		page, err := st.Results(ctx(t), owner, after, 500)
		if err != nil {
			t.Fatalf("Results(%s, %d): %v", owner, after, err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}
