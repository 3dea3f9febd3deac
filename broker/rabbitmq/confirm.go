package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
)

// confirmCh is a channel in confirm mode whose publishes return once the
// broker confirmed them. Many goroutines publish on one confirmCh at once;
// the broker acks them in batches (multiple=true), which is what makes
// confirmed publishing fast.
//
// Publishes are mandatory: a message no queue takes (an endpoint without
// queues) comes back as a basic.return, which RabbitMQ sends before the
// message's ack. One goroutine reads both the returns and the confirms,
// and drains the returns before settling each confirm, so a returned
// message is never reported as delivered.
type confirmCh struct {
	ch *amqp.Channel

	// publishMu makes the delivery tag read before a publish the one the
	// publish gets, so that a confirm or return finds its waiter.
	publishMu sync.Mutex

	mu      sync.Mutex
	waiters map[uint64]chan error
	err     error         // why the channel closed; set before done is closed
	done    chan struct{} // closed once the channel is closed and waiters failed
}

// errNacked: RabbitMQ nacks a publish only on an internal error; the
// message may be retried.
var errNacked = errors.New("rabbitmq: broker refused the message (basic.nack)")

func newConfirmCh(conn *amqp.Connection) (*confirmCh, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", classify(err))
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", classify(err))
	}
	c := &confirmCh{ch: ch, waiters: make(map[uint64]chan error), done: make(chan struct{})}
	// Buffered so that amqp091's reader never waits on us (it gives up
	// on a listener after 5s); the loop drains them promptly.
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1024))
	returns := ch.NotifyReturn(make(chan amqp.Return, 1024))
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))
	go c.loop(confirms, returns, closes)
	return c, nil
}

func (c *confirmCh) loop(confirms <-chan amqp.Confirmation, returns <-chan amqp.Return, closes <-chan *amqp.Error) {
	returned := make(map[uint64]amqp.Return)
	record := func(r amqp.Return) {
		if tag, err := strconv.ParseUint(r.MessageId, 10, 64); err == nil {
			returned[tag] = r
		}
	}
	for {
		select {
		case r, ok := <-returns:
			if ok {
				record(r)
			} else {
				returns = nil
			}
		case cf, ok := <-confirms:
			if !ok {
				// amqp091 sends the close reason before it closes the
				// listeners: it is waiting in closes (nil on a clean close).
				cause := error(broker.ErrClosed)
				if e := <-closes; e != nil {
					cause = classify(e)
				}
				c.fail(cause)
				return
			}
		drain:
			for {
				select {
				case r, ok := <-returns:
					if !ok {
						returns = nil
						break drain
					}
					record(r)
				default:
					break drain
				}
			}
			var err error
			if r, ok := returned[cf.DeliveryTag]; ok {
				delete(returned, cf.DeliveryTag)
				err = fmt.Errorf("%w: %s returned %s (%d)", broker.ErrUnknownEndpoint, r.Exchange, r.ReplyText, r.ReplyCode)
			} else if !cf.Ack {
				err = errNacked
			}
			c.settle(cf.DeliveryTag, err)
		}
	}
}

func (c *confirmCh) settle(tag uint64, err error) {
	c.mu.Lock()
	w := c.waiters[tag]
	delete(c.waiters, tag)
	c.mu.Unlock()
	if w != nil {
		w <- err
	}
}

// fail settles every waiter with err: their messages may or may not have
// reached the queue.
func (c *confirmCh) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	for tag, w := range c.waiters {
		w <- err
		delete(c.waiters, tag)
	}
	close(c.done)
}

// closed reports whether the channel is gone.
func (c *confirmCh) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// publish sends one message per body, persistent and mandatory, and
// waits for every confirm. The error is the first failure.
func (c *confirmCh) publish(ctx context.Context, exchange, key, typ, contentType string, bodies [][]byte) error {
	waits := make([]chan error, 0, len(bodies))
	c.publishMu.Lock()
	for _, body := range bodies {
		w, err := c.send(ctx, exchange, key, typ, contentType, body)
		if err != nil {
			c.publishMu.Unlock()
			return err
		}
		waits = append(waits, w)
	}
	c.publishMu.Unlock()
	for _, w := range waits {
		select {
		case err := <-w:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("wait for publisher confirm: %w", ctx.Err())
		}
	}
	return nil
}

// send publishes one message; publishMu is held.
func (c *confirmCh) send(ctx context.Context, exchange, key, typ, contentType string, body []byte) (chan error, error) {
	tag := c.ch.GetNextPublishSeqNo()
	w := make(chan error, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	c.waiters[tag] = w
	c.mu.Unlock()
	err := c.ch.PublishWithContext(ctx, exchange, key, true, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent,
		ContentType:  contentType,
		Type:         typ,
		MessageId:    strconv.FormatUint(tag, 10),
		Body:         body,
	})
	if err != nil {
		c.mu.Lock()
		delete(c.waiters, tag)
		c.mu.Unlock()
		return nil, fmt.Errorf("publish: %w", classify(err))
	}
	return w, nil
}

// close closes the channel and waits until every waiter is settled.
func (c *confirmCh) close() {
	_ = c.ch.Close()
	<-c.done
}
