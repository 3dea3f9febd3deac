package providertest

import (
	"testing"
	"time"
)

// waitPoll is how often WaitFor checks.
const waitPoll = 10 * time.Millisecond

// WaitFor polls cond until it holds, failing t if it does not within
// timeout. It is for tests that wait on processes and schedulers: the
// timeout is a generous deadline, never a measurement.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(waitPoll)
	}
}
