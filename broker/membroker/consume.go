package membroker

import (
	"context"
	"sync"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/internal/brokerutil"
)

// resultPrefetch bounds the unacked messages of one result queue while
// ConsumeResults works; one is being handled, one waits.
const resultPrefetch = 2

// resultMsg is a message taken from an endpoint's result queue.
type resultMsg struct {
	endpointID string
	sub        *sub
	message
}

// ConsumeResults hands the messages of every endpoint's result queue,
// including endpoints added later, to handle, one at a time, until ctx
// ends (it then returns nil) or the Broker is closed (broker.ErrClosed).
// A message is acked once handle returned nil; after an error it is
// requeued, following a pause that grows while errors continue.
func (b *Broker) ConsumeResults(ctx context.Context, handle func(ctx context.Context, endpointID string, m broker.Message) error) error {
	ctx, cancel := context.WithCancel(ctx)
	in := make(chan resultMsg)
	subs := make(map[*queue]*sub)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		for _, s := range subs {
			s.close()
		}
		wg.Wait()
	}()
	h := brokerutil.ResultHandler{
		Handle:    handle,
		Logger:    b.log,
		Retry:     brokerutil.Backoff{Min: b.cfg.RetryDelay, Max: b.cfg.MaxRetryDelay},
		Malformed: &b.malformed,
	}
	changed := b.syncResultSubs(ctx, subs, in, &wg)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.done:
			return broker.ErrClosed
		case <-changed:
			changed = b.syncResultSubs(ctx, subs, in, &wg)
		case m := <-in:
			ack := h.Process(ctx, m.endpointID, m.typ, m.body)
			if err := m.sub.settle(m.seq, !ack); err != nil {
				b.log.Debug("settle result message", "endpoint", m.endpointID, "err", err)
			}
		}
	}
}

// syncResultSubs starts consuming the result queues of new endpoints and
// stops consuming those of deleted ones. It returns the channel that says
// when to do it again.
func (b *Broker) syncResultSubs(ctx context.Context, subs map[*queue]*sub, in chan<- resultMsg, wg *sync.WaitGroup) <-chan struct{} {
	b.mu.Lock()
	current := make(map[*queue]string, len(b.endpoints))
	for id, ep := range b.endpoints {
		current[ep.results] = id
	}
	changed := b.changed
	b.mu.Unlock()

	for q, s := range subs {
		if _, ok := current[q]; !ok {
			s.close()
			delete(subs, q)
		}
	}
	for q, id := range current {
		if subs[q] != nil {
			continue
		}
		s := q.subscribe(resultPrefetch)
		subs[q] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := s.next(ctx.Done())
				if err != nil {
					return
				}
				select {
				case in <- resultMsg{endpointID: id, sub: s, message: m}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return changed
}
