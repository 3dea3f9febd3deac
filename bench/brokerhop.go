package main

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
)

// brokerHop times n one-message hops through RabbitMQ, one at a time: a
// persistent message published to a durable queue until its consumer
// has it. confirm puts the publishing channel in confirm mode, as every
// publish of the fabric is (a task is answered, and a result leaves the
// endpoint's outbox, only once RabbitMQ confirmed it). The pair shows
// what durable, confirmed delivery costs each of the two broker hops of
// an end-to-end task: RabbitMQ delivers a persistent message published
// in confirm mode later than the same message without it.
func brokerHop(ctx context.Context, url string, n int, confirm bool) (_ []time.Duration, err error) {
	pub, err := amqp.Dial(url)
	if err != nil {
		return nil, fmt.Errorf("broker hop: dial: %w", err)
	}
	defer pub.Close()
	sub, err := amqp.Dial(url)
	if err != nil {
		return nil, fmt.Errorf("broker hop: dial: %w", err)
	}
	defer sub.Close()
	pch, err := pub.Channel()
	if err != nil {
		return nil, fmt.Errorf("broker hop: %w", err)
	}
	if confirm {
		if err := pch.Confirm(false); err != nil {
			return nil, fmt.Errorf("broker hop: confirm mode: %w", err)
		}
		confirms := pch.NotifyPublish(make(chan amqp.Confirmation, 64))
		go func() {
			for range confirms { // drained until the connection closes
			}
		}()
	}
	sch, err := sub.Channel()
	if err != nil {
		return nil, fmt.Errorf("broker hop: %w", err)
	}
	q, err := sch.QueueDeclare(fmt.Sprintf("funcx-bench-hop-%d", time.Now().UnixNano()), true, false, false, false,
		amqp.Table{"x-expires": int32(60000)}) // gone a minute after a crashed run
	if err != nil {
		return nil, fmt.Errorf("broker hop: declare: %w", err)
	}
	defer func() {
		if _, derr := sch.QueueDelete(q.Name, false, false, false); derr != nil && err == nil {
			err = fmt.Errorf("broker hop: delete %s: %w", q.Name, derr)
		}
	}()
	deliveries, err := sch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("broker hop: consume: %w", err)
	}
	body := make([]byte, 256) // about one no-op task or result
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := pch.PublishWithContext(ctx, "", q.Name, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: broker.ContentTypeWire, Body: body}); err != nil {
			return nil, fmt.Errorf("broker hop: publish: %w", err)
		}
		select {
		case d, ok := <-deliveries:
			if !ok {
				return nil, fmt.Errorf("broker hop: the consumer ended")
			}
			out = append(out, time.Since(start))
			if err := d.Ack(false); err != nil {
				return nil, fmt.Errorf("broker hop: ack: %w", err)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// brokerHopRows adds the one-hop latency of a persistent message
// published in confirm mode beside the same without confirm mode: an
// explanation of the end-to-end latency row, with no target.
func (h *harness) brokerHopRows(ctx context.Context) error {
	var with, without []time.Duration
	conf := &measure{name: "RabbitMQ one hop, persistent, confirm mode", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := brokerHop(ctx, h.o.amqpURL(), h.o.Pings, true)
		with = append(with, ds...)
		return ms(percentile(ds, 50)), err
	}}
	plain := &measure{name: "RabbitMQ one hop, persistent, no confirm mode", unit: "ms", run: func(ctx context.Context) (float64, error) {
		ds, err := brokerHop(ctx, h.o.amqpURL(), h.o.Pings, false)
		without = append(without, ds...)
		return ms(percentile(ds, 50)), err
	}}
	if err := h.alternate(ctx, "RabbitMQ one hop p50", conf, plain); err != nil {
		return err
	}
	h.add(row{
		Key: "broker-hop-p50", Name: "RabbitMQ one hop p50, persistent, publisher in confirm mode (each of a task's 2 hops)", Unit: "ms",
		Value: ms(percentile(with, 50)), Rounds: roundPercentiles(with, h.o.Pings, 50),
		Baseline: "same, publisher not in confirm mode", BaselineValue: ms(percentile(without, 50)),
		BaselineRounds: roundPercentiles(without, h.o.Pings, 50),
		Tasks:          h.o.Pings, Returned: len(with), BaselineReturned: len(without),
	})
	return nil
}
