// Package testlog sends a component's slog output to the running test's
// log, so that a failing test shows what the fabric did.
package testlog

import (
	"log/slog"
	"strings"
	"testing"
)

// New returns a logger that writes to t.Log at level and above.
func New(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(writer{t}, &slog.HandlerOptions{Level: level}))
}

type writer struct{ t testing.TB }

func (w writer) Write(p []byte) (int, error) {
	// Goroutines may log after the test ended; t.Log panics then.
	defer func() { _ = recover() }()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
