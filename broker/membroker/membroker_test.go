package membroker_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/membroker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testPrefetch   = 4
	testMaxMessage = 64 << 10
)

func newBroker(t *testing.T) *membroker.Broker {
	t.Helper()
	b, err := membroker.New(membroker.Config{Prefetch: testPrefetch, MaxMessage: testMaxMessage, RetryDelay: 10e6})
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
		Prefetch:   testPrefetch,
		MaxMessage: testMaxMessage,
	})
}
