package rabbitmq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	requireBroker(t)
	p := prefix(t, "conf")
	brokertest.Run(t, brokertest.Env{
		NewService: func(t *testing.T) broker.Service { return newService(t, p) },
		Dial: func(ctx context.Context, _ broker.Service, creds broker.Credentials) (broker.EndpointConn, error) {
			return dialTest(ctx, creds)
		},
		PublishRaw: func(ctx context.Context, _ broker.Service, exchange, key, typ string, body []byte) error {
			return publishRaw(ctx, exchange, key, typ, body)
		},
		Reopen: func(t *testing.T, _ broker.Service) broker.Service { return newService(t, p+"-reopened") },
		LockResults: func(ctx context.Context, _ broker.Service, id string) (func(), error) {
			return lockResults(ctx, id)
		},
		Prefetch:    testPrefetch,
		MaxMessage:  testMaxMessage,
		PoisonAfter: testPoisonAfter,
		EndpointID:  idGen(p),
	})
}

// testBundle is one integration test's service and endpoint.
type testBundle struct {
	prefix string
	svc    *Service
	id     string
	creds  broker.Credentials
	ep     *Conn
}

// setup requires the broker and sets up a service, an endpoint and its
// connection, all removed when the test ends.
func setup(t *testing.T, tag string) *testBundle {
	t.Helper()
	requireBroker(t)
	b := &testBundle{prefix: prefix(t, tag)}
	b.svc = newService(t, b.prefix)
	b.id = b.prefix + "-ep"
	b.creds = setupEndpoint(t, b.svc, b.id)
	ep, err := dialTest(t.Context(), b.creds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Close() })
	b.ep = ep
	return b
}

// setupEndpoint ensures an endpoint, deleted when the test ends.
func setupEndpoint(t *testing.T, s *Service, id string) broker.Credentials {
	t.Helper()
	creds, err := s.EnsureEndpoint(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.DeleteEndpoint(ctx, id); err != nil {
			t.Errorf("delete endpoint: %v", err)
		}
	})
	return creds
}

func TestEndpointConnDropReported(t *testing.T) {
	t.Parallel()
	b := setup(t, "drop")
	s, id, creds, c := b.svc, b.id, b.creds, b.ep
	task := []funcx.Task{{ID: funcx.NewTaskID(), Function: funcx.GoFunc("f")}}
	if err := s.PublishTasks(t.Context(), id, task); err != nil {
		t.Fatal(err)
	}
	<-c.Deliveries() // held unacked when the connection drops

	forceClose(t, func(ci connInfo) bool { return ci.User == creds.Username })
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done() not closed after the broker closed the connection")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "CONNECTION_FORCED") {
		t.Errorf("Err() = %v, want the broker's CONNECTION_FORCED", err)
	}
	if _, ok := <-c.Deliveries(); ok {
		t.Error("Deliveries() still open")
	}
	if err := c.PublishHeartbeat(t.Context(), broker.Heartbeat{}); err == nil {
		t.Error("PublishHeartbeat on a dropped connection succeeded")
	}

	// The unacked batch waits for the next connection.
	c2, err := dialTest(t.Context(), creds)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	select {
	case d := <-c2.Deliveries():
		if d.Tasks[0].ID != task[0].ID {
			t.Fatalf("redelivered %s, want %s", d.Tasks[0].ID, task[0].ID)
		}
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("unacked batch not redelivered after the drop")
	}
}

func TestServiceSurvivesConnectionDrops(t *testing.T) {
	t.Parallel()
	b := setup(t, "svcdrop")
	p, s, id, ep := b.prefix, b.svc, b.id, b.ep

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan funcx.TaskID, 16)
	errc := make(chan error, 1)
	go func() {
		errc <- s.ConsumeResults(ctx, func(_ context.Context, endpointID string, m broker.Message) error {
			if endpointID != id {
				return errors.New("wrong endpoint")
			}
			for _, r := range m.Results {
				got <- r.TaskID
			}
			return nil
		})
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ConsumeResults: %v", err)
		}
	}()
	roundTrip := func(step string) {
		t.Helper()
		id := funcx.NewTaskID()
		if err := ep.PublishResults(t.Context(), []funcx.Result{{TaskID: id, State: funcx.StateSuccess}}); err != nil {
			t.Fatalf("%s: publish result: %v", step, err)
		}
		select {
		case g := <-got:
			if g != id {
				t.Fatalf("%s: got result %s, want %s", step, g, id)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: result not consumed", step)
		}
	}
	roundTrip("before the drop")
	forceClose(t, func(ci connInfo) bool { return ci.ClientProperties.ConnectionName == p+" results "+id })
	roundTrip("after the results connection dropped")

	// PublishTasks dials again too.
	if err := s.PublishTasks(t.Context(), id, []funcx.Task{{ID: funcx.NewTaskID(), Function: funcx.GoFunc("f")}}); err != nil {
		t.Fatal(err)
	}
	forceClose(t, func(ci connInfo) bool { return ci.ClientProperties.ConnectionName == p+" publish "+id })
	if err := s.PublishTasks(t.Context(), id, []funcx.Task{{ID: funcx.NewTaskID(), Function: funcx.GoFunc("f")}}); err != nil {
		t.Fatalf("PublishTasks after the publish connection dropped: %v", err)
	}
	for range 2 {
		select {
		case d := <-ep.Deliveries():
			_ = d.Ack()
		case <-time.After(10 * time.Second):
			t.Fatal("task not delivered")
		}
	}
}

func TestConsumeResultsFollowsRecreatedQueue(t *testing.T) {
	t.Parallel()
	b := setup(t, "recreate")
	got := make(chan funcx.TaskID, 16)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- b.svc.ConsumeResults(ctx, func(_ context.Context, _ string, m broker.Message) error {
			got <- m.Results[0].TaskID
			return nil
		})
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ConsumeResults: %v", err)
		}
	}()
	publish := func(ep *Conn) {
		t.Helper()
		want := funcx.NewTaskID()
		if err := ep.PublishResults(t.Context(), []funcx.Result{{TaskID: want}}); err != nil {
			t.Fatalf("publish result: %v", err)
		}
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("got %s, want %s", g, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("result not consumed")
		}
	}
	publish(b.ep)

	// Someone deletes the result queue under the service's consumer:
	// the service, which owns it, declares it again by itself, and the
	// endpoint's publishes, refused while no queue takes them, go
	// through again.
	err := asAdmin(t.Context(), b.id, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(broker.ResultQueue(b.id), false, false, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := b.ep.PublishResults(t.Context(), []funcx.Result{{TaskID: funcx.NewTaskID()}})
		if err == nil {
			<-got
			break
		}
		if !errors.Is(err, broker.ErrUnknownEndpoint) || time.Now().After(deadline) {
			t.Fatalf("publish while the queue is missing: %v, want broker.ErrUnknownEndpoint until the service declares it again", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	publish(b.ep)
	if n := b.svc.ConsumerStats().Errors[broker.ReasonDeleted]; n < 1 {
		t.Errorf("ConsumerStats().Errors[deleted] = %d, want the deletion counted", n)
	}
}
