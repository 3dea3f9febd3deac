package brokerutil

import (
	"context"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// maxResultBatch bounds the result messages handled together (and
// buffered from the consumers).
const maxResultBatch = 64

// dispatcher hands the messages of every endpoint's consumer to handle,
// from one goroutine. A message whose handler failed is held, not
// returned to its queue (a broker redelivers at the head of the queue at
// once, so a failing message would spin hot), and handed over again
// alone after a backoff of its endpoint, while every other message keeps
// flowing.
type dispatcher struct {
	handle      func(ctx context.Context, endpointID string, m broker.Message) error
	log         *slog.Logger
	stats       *Stats
	retry       Backoff // the template of each endpoint's retry backoff
	poisonAfter int

	handled uint64 // Handle calls that succeeded
	held    map[string]*hold
}

// hold is an endpoint's messages waiting to be handled again.
type hold struct {
	msgs  []heldMsg
	retry Backoff
	due   time.Time
}

type heldMsg struct {
	d        Delivery
	m        broker.Message
	attempts int
	// handled is dispatcher.handled when it first failed: a message is
	// poisoned only if others were handled since, so that a handler that
	// fails for everyone (its store is down) never drops anything.
	handled uint64
}

func (d *dispatcher) run(ctx context.Context, in <-chan Delivery, closed <-chan struct{}) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	batch := make([]Delivery, 0, maxResultBatch)
	for {
		d.arm(timer)
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			return broker.ErrClosed
		case m := <-in:
			batch = take(in, append(batch[:0], m))
			d.process(ctx, batch)
			clear(batch)
		case <-timer.C:
			d.retryDue(ctx, time.Now())
		}
	}
}

// take appends to batch the deliveries already waiting, up to
// maxResultBatch in all.
func take(in <-chan Delivery, batch []Delivery) []Delivery {
	for len(batch) < maxResultBatch {
		select {
		case m := <-in:
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// arm sets timer to the earliest due hold.
func (d *dispatcher) arm(timer *time.Timer) {
	var next time.Time
	for _, h := range d.held {
		if next.IsZero() || h.due.Before(next) {
			next = h.due
		}
	}
	if next.IsZero() {
		timer.Stop()
		return
	}
	timer.Reset(time.Until(next))
}

// process handles deliveries that were waiting together. Consecutive
// result messages of one endpoint go to handle as one message, their
// results in order: when the service falls behind, it catches up in
// fewer, larger store transactions. A heartbeat is handled alone; a
// message that cannot be decoded is dropped.
func (d *dispatcher) process(ctx context.Context, batch []Delivery) {
	var (
		run     []heldMsg // consecutive result messages of one endpoint
		results []funcx.Result
	)
	flush := func() {
		if len(run) == 0 {
			return
		}
		d.try(ctx, run, broker.Message{Results: results})
		run, results = nil, nil
	}
	for _, dl := range batch {
		m, ok := d.decode(dl)
		if !ok {
			continue
		}
		if len(run) > 0 && run[0].d.EndpointID != dl.EndpointID {
			flush()
		}
		if m.Heartbeat != nil {
			flush()
			d.try(ctx, []heldMsg{{d: dl, m: m}}, m)
			continue
		}
		run = append(run, heldMsg{d: dl, m: m})
		results = append(results, m.Results...)
	}
	flush()
}

// try hands msgs, merged as m, to handle: acked if it succeeds, else
// held.
func (d *dispatcher) try(ctx context.Context, msgs []heldMsg, m broker.Message) {
	ep := msgs[0].d.EndpointID
	if err := d.handle(ctx, ep, m); err != nil {
		if ctx.Err() != nil {
			return // the consumers end too, and the broker requeues
		}
		h := d.held[ep]
		if h == nil {
			h = &hold{retry: d.retry}
			h.due = time.Now().Add(h.retry.Next())
			d.held[ep] = h
		}
		d.log.Warn("result handler failed; holding the message to try again", "endpoint", ep, "messages", len(msgs),
			"retry_in", time.Until(h.due).Round(time.Millisecond), "err", err)
		for _, hm := range msgs {
			hm.attempts, hm.handled = 1, d.handled
			h.msgs = append(h.msgs, hm)
		}
		return
	}
	d.handled++
	for _, hm := range msgs {
		d.ack(hm.d)
	}
}

// retryDue hands each message of the holds that are due to handle again,
// alone, so that one that keeps failing is told from those that do not.
func (d *dispatcher) retryDue(ctx context.Context, now time.Time) {
	for ep, h := range d.held {
		if h.due.After(now) {
			continue
		}
		keep := h.msgs[:0]
		for i, hm := range h.msgs {
			if ctx.Err() != nil {
				keep = append(keep, h.msgs[i:]...)
				break
			}
			select {
			case <-hm.d.Gone:
				continue // back in its queue; its next consumer delivers it again
			default:
			}
			err := d.handle(ctx, ep, hm.m)
			if err == nil {
				d.handled++
				d.ack(hm.d)
				continue
			}
			hm.attempts++
			if hm.attempts >= d.poisonAfter && d.handled > hm.handled {
				d.poisoned(hm, err)
				continue
			}
			keep = append(keep, hm)
		}
		clear(h.msgs[len(keep):])
		h.msgs = keep
		if len(keep) == 0 {
			delete(d.held, ep)
			continue
		}
		h.due = now.Add(h.retry.Next())
	}
}

// poisoned drops a message whose handler keeps failing while others
// succeed: it would otherwise be tried forever.
func (d *dispatcher) poisoned(hm heldMsg, err error) {
	d.stats.Count(broker.ReasonPoisoned)
	ids := make([]string, 0, min(len(hm.m.Results), 10))
	for _, r := range hm.m.Results[:min(len(hm.m.Results), 10)] {
		ids = append(ids, r.TaskID.String())
	}
	d.log.Error("dropping a message whose handler kept failing while others were handled",
		"endpoint", hm.d.EndpointID, "type", hm.d.Type, "attempts", hm.attempts, "results", len(hm.m.Results),
		"first_task_ids", ids, "heartbeat", hm.m.Heartbeat != nil, "err", err)
	d.ack(hm.d)
}

// decode decodes a message; one that cannot be decoded is counted,
// logged and acked: it can never succeed, and requeueing would only loop
// it forever.
func (d *dispatcher) decode(dl Delivery) (broker.Message, bool) {
	m, err := broker.DecodeMessage(dl.Type, dl.Body)
	if err != nil {
		d.stats.Count(broker.ReasonMalformed)
		d.log.Warn("dropping malformed message from endpoint", "endpoint", dl.EndpointID, "type", dl.Type, "bytes", len(dl.Body), "err", err)
		d.ack(dl)
		return m, false
	}
	return m, true
}

func (d *dispatcher) ack(dl Delivery) {
	if err := dl.Ack(); err != nil {
		d.log.Debug("ack result message", "endpoint", dl.EndpointID, "err", err)
	}
}
