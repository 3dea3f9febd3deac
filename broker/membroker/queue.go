package membroker

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/funcx-go/funcx/broker"
)

// message is one message on a queue. seq orders the queue: a requeued
// message goes back to its original place, as in RabbitMQ.
type message struct {
	seq  uint64
	typ  string
	body []byte
}

var errAlreadyAcked = errors.New("membroker: delivery already acknowledged or returned")

// queue is a durable (for the life of the Broker) FIFO queue with
// competing consumers, each bounded by its prefetch.
type queue struct {
	name string

	mu      sync.Mutex
	ready   []message // ordered by seq
	next    uint64
	unacked int
	deleted bool
	locked  bool // see Broker.LockResults
	// changed is closed and replaced on every change a waiting consumer
	// may care about: a publish, a requeue, an ack, a deletion.
	changed chan struct{}
}

func newQueue(name string) *queue {
	return &queue{name: name, changed: make(chan struct{})}
}

func (q *queue) broadcastLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// publish appends the bodies, all or none.
func (q *queue) publish(typ string, bodies [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return fmt.Errorf("membroker: publish to queue %q: NOT_FOUND - queue deleted: %w", q.name, broker.ErrUnknownEndpoint)
	}
	for _, b := range bodies {
		q.next++
		q.ready = append(q.ready, message{seq: q.next, typ: typ, body: b})
	}
	q.broadcastLocked()
	return nil
}

// requeueLocked puts messages back in seq order.
func (q *queue) requeueLocked(ms []message) {
	if len(ms) == 0 || q.deleted {
		return
	}
	q.ready = append(q.ready, ms...)
	slices.SortFunc(q.ready, func(a, b message) int { return cmp.Compare(a.seq, b.seq) })
	q.broadcastLocked()
}

// delete drops every message and wakes the consumers, which then end.
func (q *queue) delete() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleted = true
	q.ready = nil
	q.broadcastLocked()
}

// lock makes consumers end, and new ones fail, with errQueueLocked
// while locked is set.
func (q *queue) lock(locked bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.locked = locked
	q.broadcastLocked()
}

// depth returns ready plus unacked messages.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready) + q.unacked
}

// sub is one consumer of a queue.
type sub struct {
	q        *queue
	prefetch int
	// Guarded by q.mu.
	unacked map[uint64]message
	closed  bool
}

func (q *queue) subscribe(prefetch int) *sub {
	return &sub{q: q, prefetch: prefetch, unacked: make(map[uint64]message)}
}

// consume subscribes a consumer, unless the queue is deleted or locked.
func (q *queue) consume(prefetch int) (*sub, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.deleted:
		return nil, errQueueDeleted
	case q.locked:
		return nil, errQueueLocked
	}
	return q.subscribe(prefetch), nil
}

var (
	// errQueueDeleted ends a consumer whose queue was deleted.
	errQueueDeleted = errors.New("membroker: consumer cancelled: queue deleted")
	// errQueueLocked ends a consumer of a locked queue, as RabbitMQ
	// refuses one of a queue in exclusive use by another connection.
	errQueueLocked = errors.New("membroker: RESOURCE_LOCKED - cannot obtain exclusive access to locked queue")
)

// errHalted is next's error once halt is closed.
var errHalted = errors.New("membroker: deliveries stopped")

// next takes the next message once the prefetch bound allows. It fails
// when stop is closed, the sub is closed or the queue is deleted.
func (s *sub) next(stop <-chan struct{}) (message, error) { return s.nextOrHalt(stop, nil) }

// nextOrHalt is next that also fails, with errHalted, once halt is
// closed.
func (s *sub) nextOrHalt(stop, halt <-chan struct{}) (message, error) {
	q := s.q
	for {
		q.mu.Lock()
		switch {
		case s.closed:
			q.mu.Unlock()
			return message{}, broker.ErrClosed
		case q.deleted:
			q.mu.Unlock()
			return message{}, errQueueDeleted
		case q.locked:
			q.mu.Unlock()
			return message{}, errQueueLocked
		case len(s.unacked) < s.prefetch && len(q.ready) > 0:
			m := q.ready[0]
			q.ready[0] = message{}
			q.ready = q.ready[1:]
			s.unacked[m.seq] = m
			q.unacked++
			q.mu.Unlock()
			return m, nil
		}
		wait := q.changed
		q.mu.Unlock()
		select {
		case <-wait:
		case <-stop:
			return message{}, broker.ErrClosed
		case <-halt:
			return message{}, errHalted
		}
	}
}

// settle acks (requeue false) or returns (requeue true) a delivery.
func (s *sub) settle(seq uint64, requeue bool) error {
	q := s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if s.closed {
		return fmt.Errorf("membroker: settle delivery: %w", broker.ErrClosed)
	}
	m, ok := s.unacked[seq]
	if !ok {
		return errAlreadyAcked
	}
	delete(s.unacked, seq)
	q.unacked--
	if requeue {
		q.requeueLocked([]message{m})
	} else {
		q.broadcastLocked()
	}
	return nil
}

// close returns every unacked message to the queue; later settles fail.
func (s *sub) close() {
	q := s.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	ms := make([]message, 0, len(s.unacked))
	for _, m := range s.unacked {
		ms = append(ms, m)
	}
	q.unacked -= len(ms)
	s.unacked = nil
	q.requeueLocked(ms)
	q.broadcastLocked()
}
