package membroker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/funcx-go/funcx/broker"
)

// ErrSevered is why Sever ended connections.
var ErrSevered = errors.New("membroker: connection severed: CONNECTION_FORCED")

// Sever ends every connection of the endpoint as a dropped network
// connection or an endpoint crash would: their unacked deliveries go back
// to the queue and their Err is ErrSevered. It returns how many it ended.
func (b *Broker) Sever(endpointID string) int {
	b.mu.Lock()
	ep := b.endpoints[endpointID]
	var conns []*Conn
	if ep != nil {
		conns = b.connsLocked(ep)
	}
	b.mu.Unlock()
	endAll(conns, ErrSevered)
	return len(conns)
}

// Pending reports the task batches and result messages of the endpoint
// that are queued or delivered and unacked; ok is false for an unknown
// endpoint.
func (b *Broker) Pending(endpointID string) (tasks, results int, ok bool) {
	b.mu.Lock()
	ep := b.endpoints[endpointID]
	b.mu.Unlock()
	if ep == nil {
		return 0, 0, false
	}
	return ep.tasks.depth(), ep.results.depth(), true
}

// LockResults makes the endpoint's result queue unusable to
// ConsumeResults, as a queue redeclared exclusive by another connection
// is on RabbitMQ: its consumer ends and new ones are refused
// (broker.ReasonLocked) until unlock is called. Its messages stay
// queued.
func (b *Broker) LockResults(endpointID string) (unlock func(), err error) {
	ep, err := b.endpoint(endpointID)
	if err != nil {
		return nil, fmt.Errorf("membroker: lock results of %s: %w", endpointID, err)
	}
	ep.results.lock(true)
	return func() { ep.results.lock(false) }, nil
}

// PublishRaw puts a message with any type and body on an exchange, as an
// administrator could on RabbitMQ: TaskExchange with the endpoint ID as
// key, or an endpoint's ResultExchange. Tests use it to inject malformed
// messages.
func (b *Broker) PublishRaw(ctx context.Context, exchange, key, typ string, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, toResults := key, false
	if exchange != broker.TaskExchange {
		id = strings.TrimSuffix(strings.TrimPrefix(exchange, "funcx.ep."), ".results")
		if exchange != broker.ResultExchange(id) {
			return fmt.Errorf("membroker: publish raw: NOT_FOUND - no exchange '%s'", exchange)
		}
		toResults = true
	}
	ep, err := b.endpoint(id)
	if err != nil {
		return fmt.Errorf("membroker: publish raw to %s: %w", exchange, err)
	}
	q := ep.tasks
	if toResults {
		q = ep.results
	}
	return q.publish(typ, [][]byte{append([]byte(nil), body...)})
}
