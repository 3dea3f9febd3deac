package membroker_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/membroker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testPrefetch    = 4
	testMaxMessage  = 64 << 10
	testPoisonAfter = 3
)

func newBroker(t *testing.T) *membroker.Broker {
	t.Helper()
	b, err := membroker.New(membroker.Config{Prefetch: testPrefetch, MaxMessage: testMaxMessage,
		RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond, PoisonAfter: testPoisonAfter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	t.Parallel()
	brokertest.Run(t, brokertest.Env{
		NewService: func(t *testing.T) broker.Service { return newBroker(t) },
		Dial: func(ctx context.Context, svc broker.Service, creds broker.Credentials) (broker.EndpointConn, error) {
			return svc.(*membroker.Broker).DialEndpoint(ctx, creds)
		},
		PublishRaw: func(ctx context.Context, svc broker.Service, exchange, key, typ string, body []byte) error {
			return svc.(*membroker.Broker).PublishRaw(ctx, exchange, key, typ, body)
		},
		Reopen: func(t *testing.T, svc broker.Service) broker.Service { return svc.(*membroker.Broker).Attach() },
		LockResults: func(_ context.Context, svc broker.Service, id string) (func(), error) {
			return svc.(*membroker.Broker).LockResults(id)
		},
		Prefetch:    testPrefetch,
		MaxMessage:  testMaxMessage,
		PoisonAfter: testPoisonAfter,
	})
}
