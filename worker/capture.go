package worker

import (
	"os"
	"slices"
	"time"
)

// capture collects one output stream of a command through a pipe of our
// own, rather than letting os/exec copy it: the worker then decides how
// long to wait for the pipe after the command exits, and keeps reading
// past the limit so that a chatty child never blocks on a full pipe.
type capture struct {
	r, w      *os.File
	limit     int
	buf       []byte
	truncated bool
	done      chan struct{}
}

func newCapture(limit int) (*capture, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &capture{r: r, w: w, limit: limit, done: make(chan struct{})}, nil
}

// start begins draining once the child holds the write end.
func (c *capture) start() {
	c.w.Close()
	go c.drain()
}

// abandon releases the pipe of a command that never started.
func (c *capture) abandon() {
	c.w.Close()
	c.r.Close()
}

// firstChunk is the first allocation for output: most commands print
// little, so a capture starts small and grows up to its limit. Nothing is
// allocated for a stream that stays empty, as most stderr does.
const firstChunk = 4 << 10

func (c *capture) drain() {
	defer close(c.done)
	var first [512]byte // what a stream's first read lands in
	var discard []byte
	for {
		var n int
		var err error
		switch {
		case c.buf == nil && c.limit > 0:
			n, err = c.r.Read(first[:min(len(first), c.limit)])
			if n > 0 {
				c.buf = append(make([]byte, 0, min(max(firstChunk, n), c.limit)), first[:n]...)
			}
		case len(c.buf) < c.limit:
			if len(c.buf) == cap(c.buf) {
				c.buf = slices.Grow(c.buf, min(max(cap(c.buf), firstChunk), c.limit-len(c.buf)))
			}
			n, err = c.r.Read(c.buf[len(c.buf):min(cap(c.buf), c.limit)])
			c.buf = c.buf[:len(c.buf)+n]
		default:
			if discard == nil {
				discard = make([]byte, 32<<10)
			}
			n, err = c.r.Read(discard)
			c.truncated = c.truncated || n > 0
		}
		if err != nil {
			return // io.EOF once every writer is gone, or the pipe was closed
		}
	}
}

// finish waits up to grace for the stream's end and returns what was
// captured. A writer that outlives the command (a grandchild that left
// the process group) cannot hold the worker up: its pipe is closed under it.
func (c *capture) finish(grace time.Duration) (out []byte, truncated bool) {
	select {
	case <-c.done: // the usual case: no timer needed
	default:
		t := time.NewTimer(grace)
		select {
		case <-c.done:
		case <-t.C:
			c.r.Close() // unblocks drain's Read
			<-c.done
		}
		t.Stop()
	}
	c.r.Close()
	if len(c.buf) == 0 {
		return nil, c.truncated
	}
	return c.buf, c.truncated
}
