package rabbitmq

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/internal/needs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The broker the integration tests use; scripts/start-services.sh
// installs and starts it.
var (
	testAMQPURL = cmp.Or(os.Getenv("FUNCX_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/")
	testAPIURL  = cmp.Or(os.Getenv("FUNCX_TEST_RABBITMQ_API"), "http://guest:guest@127.0.0.1:15672")
	// runID keeps this run's users, queues and exchanges apart from
	// other runs' on a shared broker.
	runID = "it" + strings.ToLower(rand.Text()[:8])
)

const (
	testPrefetch    = 4
	testMaxMessage  = 64 << 10
	testPoisonAfter = 3
)

var (
	brokerOnce sync.Once
	brokerErr  error
)

// requireBroker fails the test (skips it under -short) when RabbitMQ
// does not answer.
func requireBroker(t testing.TB) {
	t.Helper()
	needs.Services(t, needs.RabbitMQ)
	brokertest.ShareRabbitMQ(t) // no outage test stops RabbitMQ under this one
	brokerOnce.Do(func() {
		s, err := New(Config{URL: testAMQPURL, ManagementURL: testAPIURL})
		if err != nil {
			brokerErr = err
			return
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		brokerErr = s.Ping(ctx)
	})
	if brokerErr != nil {
		t.Fatalf("RabbitMQ is not reachable (AMQP %s, management API %s): %v\n"+
			"Run scripts/start-services.sh (as root) to install and start it, or set FUNCX_TEST_AMQP_URL and FUNCX_TEST_RABBITMQ_API.",
			redact(testAMQPURL), redact(testAPIURL), brokerErr)
	}
}

// prefix returns a name prefix unique to this run and test, and checks
// when the test ends that nothing named with it is left on the broker.
func prefix(t *testing.T, tag string) string {
	t.Helper()
	p := runID + "-" + tag
	t.Cleanup(func() { assertNothingLeft(t, p) })
	return p
}

var idSeq atomic.Int64

func idGen(prefix string) func(*testing.T) string {
	return func(*testing.T) string { return fmt.Sprintf("%s-%d", prefix, idSeq.Add(1)) }
}

func testConfig(name string) Config {
	return Config{
		URL:               testAMQPURL,
		ManagementURL:     testAPIURL,
		MaxMessage:        testMaxMessage,
		RetryDelay:        10 * time.Millisecond,
		MaxRetryDelay:     200 * time.Millisecond,
		PoisonAfter:       testPoisonAfter,
		ReconnectDelay:    50 * time.Millisecond,
		MaxReconnectDelay: time.Second,
		ConnectionName:    name,
	}
}

func newService(t *testing.T, name string) *Service {
	t.Helper()
	s, err := New(testConfig(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func dialTest(ctx context.Context, creds broker.Credentials) (*Conn, error) {
	return DialEndpoint(ctx, creds, EndpointConfig{Prefetch: testPrefetch, MaxMessage: testMaxMessage})
}

// admin is the management API as the test administrator.
func admin(t *testing.T) *management {
	t.Helper()
	u, err := url.Parse(testAPIURL)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	m, err := newManagement(testAPIURL, u.User.Username(), pw, nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.close)
	return m
}

// leftovers lists the users, virtual hosts, queues and exchanges whose
// names contain p.
func leftovers(ctx context.Context, m *management, p string) ([]string, error) {
	var left []string
	for _, kind := range []string{"users", "vhosts", "queues", "exchanges"} {
		var items []struct{ Name string }
		if err := m.do(ctx, http.MethodGet, path(kind)+"?columns=name", nil, &items, false); err != nil {
			return nil, err
		}
		for _, it := range items {
			if strings.Contains(it.Name, p) {
				left = append(left, kind+" "+it.Name)
			}
		}
	}
	return left, nil
}

func assertNothingLeft(t *testing.T, p string) {
	t.Helper()
	m := admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var left []string
	for {
		var err error
		if left, err = leftovers(ctx, m, p); err != nil {
			t.Errorf("list leftovers: %v", err)
			return
		}
		if len(left) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("left on the broker after the test: %v", left)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// connInfo is a connection as the management API lists it.
type connInfo struct {
	Name             string
	User             string
	ClientProperties struct {
		ConnectionName string `json:"connection_name"`
	} `json:"client_properties"`
}

// forceClose closes, from the broker's side, the connections match
// selects, waiting for them to be listed first (the management API
// lists a new connection within a few seconds). It returns how many.
func forceClose(t *testing.T, match func(connInfo) bool) int {
	t.Helper()
	m := admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var conns []connInfo
		if err := m.do(ctx, http.MethodGet, path("connections"), nil, &conns, false); err != nil {
			t.Fatalf("list connections: %v", err)
		}
		n := 0
		for _, c := range conns {
			if match(c) {
				if err := m.do(ctx, http.MethodDelete, path("connections", c.Name), nil, nil, true); err != nil {
					t.Fatalf("close connection %s: %v", c.Name, err)
				}
				n++
			}
		}
		if n > 0 {
			return n
		}
		select {
		case <-ctx.Done():
			t.Fatal("no matching connection listed by the management API")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// asAdmin runs fn on a channel of a connection of the test
// administrator to the endpoint's virtual host.
func asAdmin(ctx context.Context, endpointID string, fn func(*amqp.Channel) error) error {
	conn, err := adminConn(ctx, endpointID)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	return fn(ch)
}

// adminConn connects as the test administrator to the endpoint's virtual
// host.
func adminConn(ctx context.Context, endpointID string) (*amqp.Connection, error) {
	return dial(ctx, dialConfig{url: testAMQPURL, vhost: DefaultVhostPrefix + endpointID, timeout: 10 * time.Second, name: runID + " admin"})
}

// lockResults deletes the endpoint's result queue and declares it again
// exclusive to an administrator's connection, as a hostile administrator
// could; unlock closes that connection, which deletes the queue.
func lockResults(ctx context.Context, endpointID string) (unlock func(), err error) {
	conn, err := adminConn(ctx, endpointID)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		_, err = ch.QueueDelete(broker.ResultQueue(endpointID), false, false, false)
	}
	if err == nil {
		_, err = ch.QueueDeclare(broker.ResultQueue(endpointID), false, false, true, false, nil)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return func() { conn.Close() }, nil
}

// publishRaw publishes as the administrator, confirmed, in the virtual
// host of the endpoint the exchange (or key) belongs to.
func publishRaw(ctx context.Context, exchange, key, typ string, body []byte) error {
	id := key
	if exchange != broker.TaskExchange {
		id = strings.TrimSuffix(strings.TrimPrefix(exchange, "funcx.ep."), ".results")
	}
	return asAdmin(ctx, id, func(ch *amqp.Channel) error {
		if err := ch.Confirm(false); err != nil {
			return err
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, amqp.Publishing{Type: typ, Body: body, DeliveryMode: amqp.Persistent})
		if err != nil {
			return err
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			return fmt.Errorf("raw publish not confirmed: %v", err)
		}
		return nil
	})
}
