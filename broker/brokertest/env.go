// Package brokertest is the conformance suite of the broker interfaces:
// every implementation (membroker in unit tests, RabbitMQ in its
// integration tests) runs Run, so that the service and the endpoint can
// rely on the same semantics whichever broker they are given.
package brokertest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
)

// Env is what Run needs from an implementation.
type Env struct {
	// NewService returns a fresh Service for one subtest. Run closes it
	// when the subtest ends; Close must be idempotent.
	NewService func(t *testing.T) broker.Service
	// Dial connects as an endpoint of svc with creds.
	Dial func(ctx context.Context, svc broker.Service, creds broker.Credentials) (broker.EndpointConn, error)
	// Prefetch is the prefetch bound of the connections Dial makes. Keep
	// it small: the suite publishes a few more batches than this.
	Prefetch int
	// MaxMessage is the body size above which NewService's Service and
	// Dial's connections split batches. Keep it small (say 64 KiB) so
	// that the split checks move little data.
	MaxMessage int
	// EndpointID returns an endpoint ID no other test uses, also on a
	// broker shared across runs. Defaults to a random ID.
	EndpointID func(t *testing.T) string
	// PublishRaw publishes a message of any type and body as an
	// administrator would, to exchange with routing key key. Nil skips
	// the checks that malformed messages are dropped.
	PublishRaw func(ctx context.Context, svc broker.Service, exchange, key, typ string, body []byte) error
	// Reopen returns another Service on the broker svc uses, as a
	// restarted or second service process would open it: it knows no
	// endpoint until told (Resume). Run closes it when the subtest ends.
	// Nil skips the checks of Resume.
	Reopen func(t *testing.T, svc broker.Service) broker.Service
	// LockResults makes an endpoint's result queue unusable to svc's
	// ConsumeResults as a hostile administrator could (on RabbitMQ:
	// delete it and declare it again exclusive to another connection),
	// until unlock is called; the Service must then take the queue up
	// again by itself. Nil skips the isolation checks.
	LockResults func(ctx context.Context, svc broker.Service, endpointID string) (unlock func(), err error)
	// PoisonAfter is the PoisonAfter of NewService's Services (keep it
	// small, and their retry delays short). Zero skips the checks of
	// poisoned messages.
	PoisonAfter int
	// Timeout bounds every wait for something that should happen.
	// Defaults to 15s.
	Timeout time.Duration
	// Quiet is how long the suite watches to conclude that nothing more
	// arrives. Defaults to 250ms.
	Quiet time.Duration
}

func (e Env) withDefaults(t *testing.T) Env {
	t.Helper()
	if e.NewService == nil || e.Dial == nil || e.Prefetch <= 0 || e.MaxMessage <= 0 {
		t.Fatal("brokertest: Env needs NewService, Dial, Prefetch and MaxMessage")
	}
	if e.EndpointID == nil {
		e.EndpointID = func(*testing.T) string { return "bt-" + rand.Text()[:12] }
	}
	if e.Timeout == 0 {
		e.Timeout = 15 * time.Second
	}
	if e.Quiet == 0 {
		e.Quiet = 250 * time.Millisecond
	}
	return e
}
