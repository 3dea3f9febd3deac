package brokerutil

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/funcx-go/funcx/internal/broker"
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
	m, err := broker.DecodeMessage(typ, body)
	if err != nil {
		// It can never succeed: requeueing would only loop it forever.
		h.Malformed.Add(1)
		h.Logger.Warn("dropping malformed message from endpoint", "endpoint", endpointID, "type", typ, "bytes", len(body), "err", err)
		return true
	}
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
