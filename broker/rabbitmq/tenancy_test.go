package rabbitmq

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// An endpoint's user gets its own virtual host, the least permissions
// DialEndpoint needs (which is enough for it), and user limits; a
// connection over the limit is refused, and DeleteEndpoint leaves
// nothing behind (the prefix check).
func TestEndpointUserLeastPrivilegeAndLimits(t *testing.T) {
	t.Parallel()
	requireBroker(t)
	p := prefix(t, "limits")
	cfg := testConfig(p)
	cfg.EndpointMaxConnections, cfg.EndpointMaxChannels = 2, 5
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	id := p + "-ep"
	creds := setupEndpoint(t, s, id)
	m := admin(t)
	ctx := t.Context()

	var perms []permissions
	if err := m.do(ctx, http.MethodGet, path("users", creds.Username, "permissions"), nil, &perms, false); err != nil {
		t.Fatal(err)
	}
	want := endpointPermissions(id)
	if len(perms) != 1 || perms[0] != want {
		t.Fatalf("permissions of %s: %+v, want only %+v in its vhost", creds.Username, perms, want)
	}
	var limits []struct {
		Value map[string]int `json:"value"`
	}
	if err := m.do(ctx, http.MethodGet, path("user-limits", creds.Username), nil, &limits, false); err != nil {
		t.Fatal(err)
	}
	if len(limits) != 1 || limits[0].Value["max-connections"] != 2 || limits[0].Value["max-channels"] != 5 {
		t.Fatalf("user limits of %s: %+v, want max-connections 2, max-channels 5", creds.Username, limits)
	}

	// With exactly these permissions the endpoint works: tasks in,
	// results out.
	results := make(chan broker.Message, 4)
	consume(t, s, func(m broker.Message) { results <- m })
	c1, err := dialTest(ctx, creds)
	if err != nil {
		t.Fatalf("dial as the endpoint: %v", err)
	}
	defer c1.Close()
	roundTripTask(t, s, id, c1, results)

	c2, err := dialTest(ctx, creds)
	if err != nil {
		t.Fatalf("second connection, within the limit: %v", err)
	}
	defer c2.Close()
	c3, err := dialTest(ctx, creds)
	if err == nil {
		c3.Close()
		t.Fatal("a third connection over max-connections 2 was accepted")
	}
	if errors.Is(err, broker.ErrAccessRefused) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("connection over the limit: %v, want a limit error that is not an access refusal (the endpoint retries it)", err)
	}
	t.Logf("over the connection limit: %v", err)

	// Channels are limited over all the user's connections: c1 and c2
	// hold four of five.
	c2.Close()
	raw, err := amqp.Dial(creds.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	opened := 0
	for ; opened < 10; opened++ {
		if _, err = raw.Channel(); err != nil {
			break
		}
	}
	if opened != 3 {
		t.Errorf("opened %d channels besides the endpoint's two (last error %v), want 3 under max-channels 5", opened, err)
	}
	t.Logf("over the channel limit: %v", err)
}

// consume runs s.ConsumeResults until the test ends.
func consume(t *testing.T, s *Service, got func(broker.Message)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- s.ConsumeResults(ctx, func(_ context.Context, _ string, m broker.Message) error { got(m); return nil })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ConsumeResults: %v", err)
		}
	})
}

// roundTripTask publishes a task to the endpoint, takes it on c, and
// publishes its result, which must come back to the service.
func roundTripTask(t *testing.T, s *Service, id string, c *Conn, results <-chan broker.Message) {
	t.Helper()
	task := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("f")}
	if err := s.PublishTasks(t.Context(), id, []funcx.Task{task}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-c.Deliveries():
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("task not delivered")
	}
	if err := c.PublishResults(t.Context(), []funcx.Result{{TaskID: task.ID, State: funcx.StateSuccess}}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m := <-results:
			if len(m.Results) == 1 && m.Results[0].TaskID == task.ID {
				return
			}
		case <-time.After(20 * time.Second):
			t.Fatal("result not consumed")
		}
	}
}
