package brokerutil

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// ResultHandler is the part of ConsumeResults the implementations share:
// decode one message from an endpoint's result queue, hand it to Handle,
// and say whether to ack it.
type ResultHandler struct {
	Handle func(ctx context.Context, endpointID string, m broker.Message) error
	Logger *slog.Logger
	// Retry spaces out the redeliveries of a message whose handler
	// failed: a broker requeues at the head of the queue, so without a
	// pause one failing message would spin hot.
	Retry Backoff
	// Malformed counts messages that failed to decode.
	Malformed *atomic.Uint64
}

// Process handles one message and reports whether to ack it (handled, or
// undecodable and so dropped) or requeue it (the handler failed; Process
// has already waited the retry delay, unless ctx ended).
func (h *ResultHandler) Process(ctx context.Context, endpointID, typ string, body []byte) (ack bool) {
	m, ok := h.decode(endpointID, typ, body)
	if !ok {
		return true
	}
	return h.handle(ctx, endpointID, typ, m)
}

// Raw is one message as it came from an endpoint's result queue.
type Raw struct {
	EndpointID string
	Type       string
	Body       []byte
}

// ProcessBatch handles messages that were waiting together, in order,
// and sets ack[i] as Process would for msgs[i]. Consecutive result
// messages of one endpoint go to Handle as one message, their results
// in order: one store transaction for all of them rather than one each.
// A merged message is acked or requeued as a whole; a heartbeat is
// handled alone, as is a message that cannot be decoded (dropped).
func (h *ResultHandler) ProcessBatch(ctx context.Context, msgs []Raw, ack []bool) {
	var (
		run     []int // indexes of the messages merged so far
		results []funcx.Result
	)
	flush := func() {
		if len(run) == 0 {
			return
		}
		first := msgs[run[0]]
		ok := h.handle(ctx, first.EndpointID, first.Type, broker.Message{Results: results})
		for _, i := range run {
			ack[i] = ok
		}
		run, results = run[:0], nil
	}
	for i, raw := range msgs {
		m, ok := h.decode(raw.EndpointID, raw.Type, raw.Body)
		if !ok {
			ack[i] = true
			continue
		}
		if len(run) > 0 && msgs[run[0]].EndpointID != raw.EndpointID {
			flush()
		}
		if m.Heartbeat != nil {
			flush()
			ack[i] = h.handle(ctx, raw.EndpointID, raw.Type, m)
			continue
		}
		run = append(run, i)
		results = append(results, m.Results...)
	}
	flush()
}

// decode decodes a message; one that cannot be decoded is counted and
// logged, and ok is false: ack it, since it can never succeed and
// requeueing would only loop it forever.
func (h *ResultHandler) decode(endpointID, typ string, body []byte) (m broker.Message, ok bool) {
	m, err := broker.DecodeMessage(typ, body)
	if err != nil {
		h.Malformed.Add(1)
		h.Logger.Warn("dropping malformed message from endpoint", "endpoint", endpointID, "type", typ, "bytes", len(body), "err", err)
		return m, false
	}
	return m, true
}

// handle hands m to Handle and reports whether to ack it; after a
// failure it waits the retry delay, unless ctx ended.
func (h *ResultHandler) handle(ctx context.Context, endpointID, typ string, m broker.Message) (ack bool) {
	if err := h.Handle(ctx, endpointID, m); err != nil {
		if ctx.Err() != nil {
			return false
		}
		delay := h.Retry.Next()
		h.Logger.Warn("result handler failed; requeueing", "endpoint", endpointID, "type", typ, "retry_in", delay, "err", err)
		Sleep(ctx, delay)
		return false
	}
	h.Retry.Reset()
	return true
}

// Logger returns l, or a logger that discards everything if l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
