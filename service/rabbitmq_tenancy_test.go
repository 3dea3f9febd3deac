package service_test

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/service/api"
)

// tenant is an identity with its endpoint, a function, and the
// endpoint's broker connection.
type tenant struct {
	name  string
	token string
	reg   api.RegisterEndpointResponse
	creds broker.Credentials
	fn    string
	conn  *rabbitmq.Conn
}

func (f *httpFabric) newTenant(t *testing.T, name string) *tenant {
	t.Helper()
	tn := &tenant{name: name, token: f.login(t, name)}
	tn.reg = f.registerEndpoint(t, tn.token)
	tn.creds = broker.Credentials(tn.reg.Broker)
	var fn api.RegisterFunctionResponse
	f.mustDo(t, "POST", api.PathFunctions, tn.token, api.RegisterFunctionRequest{Name: "f", Kind: "shell", Argv: []string{"true"}}, &fn)
	tn.fn = fn.FunctionID
	c, err := rabbitmq.DialEndpoint(t.Context(), tn.creds, rabbitmq.EndpointConfig{})
	if err != nil {
		t.Fatalf("%s: dial as the endpoint: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	tn.conn = c
	return tn
}

// submit submits one task to the tenant's endpoint and has the endpoint
// take it; the result is for the caller to publish.
func (f *httpFabric) submit(t *testing.T, tn *tenant) funcx.TaskID {
	t.Helper()
	var sub api.SubmitResponse
	f.mustDo(t, "POST", api.PathTasks, tn.token, api.SubmitRequest{EndpointID: tn.reg.EndpointID, Tasks: []api.TaskSubmit{{FunctionID: tn.fn}}}, &sub)
	select {
	case d, ok := <-tn.conn.Deliveries():
		if !ok {
			t.Fatalf("%s: endpoint connection ended: %v", tn.name, tn.conn.Err())
		}
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
		if len(d.Tasks) != 1 || d.Tasks[0].ID.String() != sub.TaskIDs[0] {
			t.Fatalf("%s: endpoint got %+v, want task %s", tn.name, d.Tasks, sub.TaskIDs[0])
		}
		return d.Tasks[0].ID
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: endpoint got no task", tn.name)
	}
	panic("unreachable")
}

// publishResult publishes the task's success from the tenant's endpoint,
// again while no queue takes it (as the endpoint's outbox would while
// the service has not yet declared the queue again).
func publishResult(t *testing.T, tn *tenant, id funcx.TaskID) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := tn.conn.PublishResults(t.Context(), []funcx.Result{{TaskID: id, State: funcx.StateSuccess}})
		if err == nil {
			return
		}
		if !errors.Is(err, broker.ErrUnknownEndpoint) || time.Now().After(deadline) {
			t.Fatalf("%s: publish result: %v", tn.name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitResult waits until the tenant reads the task's result.
func (f *httpFabric) waitResult(t *testing.T, tn *tenant, id funcx.TaskID) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st api.TaskStatus
		f.mustDo(t, "GET", api.PathTask+id.String(), tn.token, nil, &st)
		if st.State == "success" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: task %s is %s, want its result stored", tn.name, id, st.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runTask runs one task through the tenant's endpoint, end to end.
func (f *httpFabric) runTask(t *testing.T, tn *tenant) {
	t.Helper()
	id := f.submit(t, tn)
	publishResult(t, tn, id)
	f.waitResult(t, tn, id)
}

// metric returns the value of one sample of /metrics (0 if absent).
func (f *httpFabric) metric(t *testing.T, sample string) float64 {
	t.Helper()
	code, data := f.do(t, "GET", api.PathMetrics, "", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", sample, err)
			}
			return n
		}
	}
	return 0
}

// waitMetric waits until cond holds for a sample of /metrics.
func (f *httpFabric) waitMetric(t *testing.T, sample string, cond func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := f.metric(t, sample)
		if cond(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s = %v", sample, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminConn connects as the RabbitMQ administrator to an endpoint's
// virtual host.
func adminConn(t *testing.T, endpointID string) *amqp.Connection {
	t.Helper()
	conn, err := amqp.DialConfig(testAMQPURL, amqp.Config{Vhost: rabbitmq.DefaultVhostPrefix + endpointID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

var testAPIURL = cmp.Or(os.Getenv("FUNCX_TEST_RABBITMQ_API"), "http://guest:guest@127.0.0.1:15672")

// assertGoneFromRabbitMQ checks, through the management API, that an
// endpoint's virtual host and user are gone.
func assertGoneFromRabbitMQ(t *testing.T, endpointID, user string) {
	t.Helper()
	for _, p := range []string{"vhosts/" + url.PathEscape(rabbitmq.DefaultVhostPrefix+endpointID), "users/" + url.PathEscape(user)} {
		resp, err := http.Get(testAPIURL + "/api/" + p)
		if err != nil {
			t.Errorf("management API: %v", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s left on RabbitMQ after the endpoint was deleted (%s)", p, resp.Status)
		}
	}
}

// A service process that stops, and the next one started on the same
// store and RabbitMQ, consumes the results of an endpoint registered
// before, those sent while no service ran included, with no endpoint
// action: same connection, no new registration. So does a second
// process running beside it.
func TestRestartResumesEndpointsWithRabbitMQ(t *testing.T) {
	t.Parallel()
	first := startRabbitService(t, time.Hour)
	alice := first.newTenant(t, "alice")
	first.runTask(t, alice)
	id := first.submit(t, alice)
	first.stop()
	// Sent while no service runs: it waits in the results queue.
	publishResult(t, alice, id)

	next := startRabbitServiceOn(t, first.store, time.Hour)
	defer next.mustDo(t, "DELETE", api.PathEndpoint+alice.reg.EndpointID, alice.token, nil, nil)
	next.waitResult(t, alice, id)
	next.runTask(t, alice)
	if err := alice.conn.PublishHeartbeat(t.Context(), broker.Heartbeat{Workers: 3}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var es api.EndpointStatus
		next.mustDo(t, "GET", api.PathEndpoint+alice.reg.EndpointID, alice.token, nil, &es)
		if es.Status == "online" && es.Workers == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint after the restart: %+v, want online with 3 workers", es)
		}
		time.Sleep(20 * time.Millisecond)
	}

	second := startRabbitServiceOn(t, first.store, time.Hour)
	second.waitMetric(t, "funcx_service_result_queues", func(v float64) bool { return v == 1 })
	second.waitMetric(t, "funcx_service_result_queues_unconsumed", func(v float64) bool { return v == 0 })
	for range 3 {
		next.runTask(t, alice) // consumed by either process
	}
}

// With only its own broker credentials, an endpoint can neither delete
// nor redeclare (exclusive) its queues and exchange, nor learn anything
// of another endpoint's queues, nor open more connections than its
// limit; and it still works.
func TestHostileEndpointWithRabbitMQ(t *testing.T) {
	t.Parallel()
	f := startRabbitService(t, time.Hour)
	a, b := f.newTenant(t, "alice"), f.newTenant(t, "bob")
	idA, idB := a.reg.EndpointID, b.reg.EndpointID
	a.conn.Close()

	conn, err := amqp.Dial(a.creds.URL)
	if err != nil {
		t.Fatalf("dial A's URL: %v", err)
	}
	defer conn.Close()
	for _, c := range []struct {
		what string
		do   func(*amqp.Channel) error
	}{
		{"delete its task queue", func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(broker.TaskQueue(idA), false, false, false)
			return err
		}},
		{"delete its results queue", func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(broker.ResultQueue(idA), false, false, false)
			return err
		}},
		{"delete its results exchange", func(ch *amqp.Channel) error { return ch.ExchangeDelete(broker.ResultExchange(idA), false, false) }},
		{"redeclare its results queue exclusive", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(broker.ResultQueue(idA), false, false, true, false, nil)
			return err
		}},
		{"declare a queue", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(broker.TaskQueue(idA)+".mine", true, false, false, false, nil)
			return err
		}},
		{"bind its results queue to the task exchange", func(ch *amqp.Channel) error {
			return ch.QueueBind(broker.ResultQueue(idA), idA, broker.TaskExchange, false, nil)
		}},
		{"consume its results queue", func(ch *amqp.Channel) error {
			_, err := ch.Consume(broker.ResultQueue(idA), "", false, true, false, false, nil)
			return err
		}},
	} {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		err = c.do(ch)
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused {
			t.Errorf("A could %s: %v, want ACCESS_REFUSED", c.what, err)
		}
		ch.Close()
	}
	for _, q := range []string{broker.TaskQueue(idB), broker.ResultQueue(idB)} {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err == nil {
			t.Errorf("A passive-declared B's queue %s: %+v", q, info)
		}
		ch.Close()
	}
	u, _ := url.Parse(b.creds.URL)
	u.User = url.UserPassword(a.creds.Username, a.creds.Password)
	if c, err := amqp.Dial(u.String()); err == nil {
		c.Close()
		t.Error("A opened a connection to B's virtual host")
	} else {
		t.Logf("A dialing B's virtual host: %v", err)
	}
	// conn is one; fill the limit, then one more is refused.
	for i := 1; i < rabbitmq.DefaultEndpointMaxConnections; i++ {
		c, err := amqp.Dial(a.creds.URL)
		if err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, rabbitmq.DefaultEndpointMaxConnections, err)
		}
		defer c.Close()
	}
	if c, err := amqp.Dial(a.creds.URL); err == nil {
		c.Close()
		t.Errorf("A opened more than %d connections", rabbitmq.DefaultEndpointMaxConnections)
	} else if !strings.Contains(err.Error(), "limit") {
		t.Errorf("connection over the limit: %v, want a limit error", err)
	}
	f.runTask(t, b)
}

// One endpoint's results queue made unusable by an administrator
// (held exclusive by another connection, stuffed with an undecodable
// message, deleted) holds up no other endpoint's results; the metrics
// count its errors, and its results arrive again once it is usable.
func TestOneEndpointCannotStallAnotherWithRabbitMQ(t *testing.T) {
	t.Parallel()
	f := startRabbitService(t, time.Hour)
	a, b := f.newTenant(t, "alice"), f.newTenant(t, "bob")
	idA := a.reg.EndpointID
	f.runTask(t, a)
	f.runTask(t, b)
	errorsOf := func(reason string) string {
		return fmt.Sprintf("funcx_service_result_queue_errors_total{reason=%q}", reason)
	}

	t.Run("locked", func(t *testing.T) {
		admin := adminConn(t, idA)
		ch, err := admin.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDelete(broker.ResultQueue(idA), false, false, false); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(broker.ResultQueue(idA), false, false, true, false, nil); err != nil {
			t.Fatal(err)
		}
		f.waitMetric(t, errorsOf(broker.ReasonLocked), func(v float64) bool { return v >= 1 })
		f.waitMetric(t, "funcx_service_result_queues_unconsumed", func(v float64) bool { return v == 1 })
		idle := f.submit(t, a) // its result waits in the endpoint while the queue is held
		for range 3 {
			f.runTask(t, b)
		}
		admin.Close() // the exclusive queue goes with it
		publishResult(t, a, idle)
		f.waitResult(t, a, idle)
		f.waitMetric(t, "funcx_service_result_queues_unconsumed", func(v float64) bool { return v == 0 })
	})
	t.Run("undecodable message", func(t *testing.T) {
		admin := adminConn(t, idA)
		ch, err := admin.Channel()
		if err != nil {
			t.Fatal(err)
		}
		before := f.metric(t, errorsOf(broker.ReasonMalformed))
		err = ch.PublishWithContext(t.Context(), broker.ResultExchange(idA), "", true, false,
			amqp.Publishing{Type: broker.TypeResults, Body: []byte("\xff\x00garbage"), DeliveryMode: amqp.Persistent})
		if err != nil {
			t.Fatal(err)
		}
		f.waitMetric(t, errorsOf(broker.ReasonMalformed), func(v float64) bool { return v == before+1 })
		f.runTask(t, a)
		f.runTask(t, b)
	})
	t.Run("deleted", func(t *testing.T) {
		ch, err := adminConn(t, idA).Channel()
		if err != nil {
			t.Fatal(err)
		}
		before := f.metric(t, errorsOf(broker.ReasonDeleted))
		if _, err := ch.QueueDelete(broker.ResultQueue(idA), false, false, false); err != nil {
			t.Fatal(err)
		}
		f.runTask(t, b)
		f.runTask(t, a) // once the service has declared the queue again
		f.waitMetric(t, errorsOf(broker.ReasonDeleted), func(v float64) bool { return v > before })
		f.waitMetric(t, "funcx_service_result_queues_unconsumed", func(v float64) bool { return v == 0 })
	})
}
