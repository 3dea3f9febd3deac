package python

import (
	"io"
	"strings"
	"sync"
)

// tailSize is how much of the interpreter's own output is kept for error
// messages: enough for a Python traceback or a fatal error.
const tailSize = 4 << 10

// tail passes the interpreter's output on and keeps its last bytes, so
// that a failed start or a crash can say what the interpreter printed.
type tail struct {
	out io.Writer
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	t.mu.Unlock()
	if t.out != nil {
		_, _ = t.out.Write(p) // the log is best effort
	}
	return len(p), nil
}

// String returns the kept output, trimmed.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "?"))
}
