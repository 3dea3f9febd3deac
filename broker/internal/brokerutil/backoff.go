package brokerutil

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields growing delays between retries: Min, then doubling up
// to Max, each with up to 20% jitter so that many clients that lost the
// same broker do not come back in step. The zero value must be given Min
// and Max before use.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the next delay.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	} else {
		b.cur = min(2*b.cur, b.Max)
	}
	return b.cur - time.Duration(rand.Int64N(int64(b.cur)/5+1))
}

// Reset starts again from Min after a success.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx ends, and reports whether it slept the full d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
