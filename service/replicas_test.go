package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/pgstore"
	"github.com/funcx-go/funcx/service/pgstore/pgstoretest"
)

// replica starts a service on st (of a store shared with other
// replicas) with a fake broker of its own, sharing clock. configure may
// change the config first.
func replica(t *testing.T, st service.Store, clock *fakeClock, configure ...func(*service.Config)) *bundle {
	t.Helper()
	b := &bundle{broker: newFakeBroker(), clock: clock, reg: prometheus.NewRegistry()}
	cfg := service.Config{Store: st, Broker: b.broker, Clock: clock.Now, Registry: b.reg}
	for _, f := range configure {
		f(&cfg)
	}
	var err error
	b.svc, err = service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.svc.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return b
}

// replicas starts two services, each with a pool of its own on one
// PostgreSQL schema, as two funcx-service processes would be, and alice
// with a token (taken from a). Their long polls never read the store
// again on their own: only the store's changes wake them.
func replicas(t *testing.T) (a, b *bundle, alice user) {
	t.Helper()
	schema := pgstoretest.Schema(t)
	clock := &fakeClock{now: time.Now()}
	deaf := func(c *service.Config) { c.SharedRecheck = time.Hour }
	a = replica(t, pgstoretest.Open(t, schema, pgstore.Config{}), clock, deaf)
	b = replica(t, pgstoretest.Open(t, schema, pgstore.Config{}), clock, deaf)
	alice = a.newUser(t, "alice")
	return a, b, alice
}

// poll long-polls GET /v1/results on b in the background and yields the
// page it answers.
func poll(t *testing.T, b *bundle, u user, after int64, wait time.Duration) <-chan api.ResultsPage {
	t.Helper()
	out := make(chan api.ResultsPage, 1)
	go func() {
		code, data := b.do(t, "GET", api.PathResults+"?after="+itoa(after)+"&wait="+wait.String(), u.token, nil)
		var page api.ResultsPage
		if code != http.StatusOK || json.Unmarshal(data, &page) != nil {
			t.Errorf("poll: %d %s", code, data)
		}
		out <- page
	}()
	return out
}

// A long poll on one replica is woken by a result that another replica
// stored, and tokens, ownership and task status are the same on both.
func TestReplicaPollWokenByAnother(t *testing.T) {
	t.Parallel()
	a, b, alice := replicas(t)
	bob := a.newUser(t, "bob")
	ep := a.registerEndpoint(t, alice)
	fn := a.registerFunction(t, alice, echo)
	ids := a.submit(t, alice, ep, fn, 2)

	// Owners and tokens are the store's: b answers as a does.
	code, data := b.do(t, "GET", api.PathEndpoints+"/"+ep, bob.token, nil)
	wantError(t, code, data, http.StatusNotFound, "not found")
	var st api.TaskStatusList
	b.mustDo(t, "POST", api.PathTaskStatus, alice.token, api.TaskStatusRequest{TaskIDs: ids}, &st)
	if len(st.Tasks) != 2 {
		t.Fatalf("status on b: %+v", st)
	}

	page := poll(t, b, alice, 0, api.MaxWait)
	time.Sleep(100 * time.Millisecond) // let the poll wait (a poll that has not begun only reads sooner)
	a.succeed(t, ep, ids[0])
	// Within half the poll's wait, after which it would answer anyway.
	select {
	case p := <-page:
		if len(p.Results) != 1 || p.Results[0].TaskID != ids[0] {
			t.Fatalf("page on b: %+v", p)
		}
	case <-time.After(api.MaxWait / 2):
		t.Fatal("the poll on b was not woken by a result stored through a")
	}
	if m := b.metrics(t); !strings.Contains(m, `funcx_service_store_changes_total{kind="results"} 1`) {
		t.Fatalf("b's metrics do not count a's results:\n%s", m)
	}
}

// An endpoint deleted through one replica is refused at once by the
// other, which had it cached for submissions; one registered through
// one replica is consumed by the other.
func TestReplicaSeesEndpointChanges(t *testing.T) {
	t.Parallel()
	a, b, alice := replicas(t)
	ep := a.registerEndpoint(t, alice)
	fn := a.registerFunction(t, alice, echo)
	// Within half a minute: b's own resync of the stored endpoints
	// comes once a minute.
	for deadline := time.Now().Add(30 * time.Second); !slices.Contains(b.broker.resumedIDs(), ep); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("b did not consume the endpoint registered through a: resumed %v", b.broker.resumedIDs())
		}
	}
	if _, err := b.broker.EnsureEndpoint(context.Background(), ep); err != nil { // b's broker knows it too
		t.Fatal(err)
	}
	b.submit(t, alice, ep, fn, 1) // b remembers the endpoint now

	a.mustDo(t, "DELETE", api.PathEndpoints+"/"+ep, alice.token, nil, nil)
	// No clock moves: b forgets the endpoint because of the change, not
	// because its memory expired.
	req := api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: fn, Args: json.RawMessage(`{"msg":"late"}`)}}}
	code, data := b.do(t, "POST", api.PathTasks, alice.token, req)
	wantError(t, code, data, http.StatusGone, "was deleted")
	if got := b.broker.published(ep); len(got) != 1 {
		t.Fatalf("b published %d batches, want only the one before the deletion", len(got))
	}
}

// resumedIDs returns the endpoint IDs passed to Resume.
func (b *fakeBroker) resumedIDs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.resumed)
}

// deafStore is a shared store whose changes never arrive.
type deafStore struct{ service.SharedStore }

func (deafStore) WatchChanges(ctx context.Context, _ func(service.Change)) error {
	<-ctx.Done()
	return nil
}

// A long poll on a replica whose changes do not arrive still answers
// with another replica's result: it reads the store again on its own.
func TestReplicaPollRechecksWithoutChanges(t *testing.T) {
	t.Parallel()
	schema := pgstoretest.Schema(t)
	clock := &fakeClock{now: time.Now()}
	a := replica(t, pgstoretest.Open(t, schema, pgstore.Config{}), clock)
	b := replica(t, deafStore{pgstoretest.Open(t, schema, pgstore.Config{})}, clock,
		func(c *service.Config) { c.SharedRecheck = 100 * time.Millisecond })
	alice := a.newUser(t, "alice")
	ep := a.registerEndpoint(t, alice)
	fn := a.registerFunction(t, alice, echo)
	ids := a.submit(t, alice, ep, fn, 1)

	page := poll(t, b, alice, 0, api.MaxWait)
	time.Sleep(100 * time.Millisecond)
	a.broker.deliver(t, ep, broker.Message{Results: []funcx.Result{{TaskID: mustParse(t, ids[0]), State: funcx.StateSuccess}}})
	select {
	case p := <-page:
		if len(p.Results) != 1 || p.Results[0].TaskID != ids[0] {
			t.Fatalf("page on b: %+v, want the result stored through a", p)
		}
	case <-time.After(api.MaxWait / 2):
		t.Fatal("the poll on b did not read the store again before its wait ran out")
	}
}
