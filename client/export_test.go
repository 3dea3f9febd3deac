package client

import "time"

// SetNow replaces the clock the token source reads, so tests can move past
// a token's expiry without waiting.
func SetNow(c *Client, now func() time.Time) { c.auth.now = now }
