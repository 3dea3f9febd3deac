package client_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// downTransport refuses every connection while the service is down, as a
// restarting service's closed port does.
type downTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	upAt time.Time
	seen int // requests refused
}

func (d *downTransport) down(dur time.Duration) {
	d.mu.Lock()
	d.upAt = time.Now().Add(dur)
	d.mu.Unlock()
}

func (d *downTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	down := time.Now().Before(d.upAt)
	if down {
		d.seen++
	}
	d.mu.Unlock()
	if down {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return d.next.RoundTrip(r)
}

func (d *downTransport) refused() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen
}

// A service down for a few seconds (a restart) is ridden out: submissions
// made while it is down are accepted once it is back, and the futures of
// tasks that finish while the results poll cannot reach it resolve. With
// MaxRetries alone (4 retries, under a second of backoff) Map failed.
func TestRidesOutServiceOutage(t *testing.T) {
	t.Parallel()
	const outage = 2 * time.Second
	tr := &downTransport{next: http.DefaultTransport}
	b := setup(t, clienttest.Config{}, func(c *client.Config) {
		c.HTTPClient = &http.Client{Transport: tr}
		c.PollWait = 50 * time.Millisecond // polls keep coming, so some meet the outage
	})
	ex := b.c.Executor(b.endpointID)
	defer ex.Close()
	// Longer than the bundle's: a loaded machine (the whole suite under
	// -race) stretches the backoff and the polls.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tr.down(outage)
	start := time.Now()
	inputs := []any{1, 2, 3}
	fs, err := ex.Map(ctx, b.goFunc, inputs)
	if err != nil {
		t.Fatalf("Map during an outage of %s: %v", outage, err)
	}
	t.Logf("Map returned %s after the outage began", time.Since(start))
	if tr.refused() == 0 {
		t.Fatal("no request was refused: the outage did not happen")
	}

	// Down again, and the tasks finish while the results poll is refused.
	before := tr.refused()
	tr.down(outage)
	start = time.Now()
	for tr.refused() == before {
		if ctx.Err() != nil {
			t.Fatalf("the results poll never met the second outage (waited %s)", time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, task := range b.srv.Tasks() {
		b.srv.Complete(api.TaskResult{TaskID: task.TaskID, Output: task.Args})
	}
	for i, f := range fs {
		res, err := f.Result(ctx)
		var got int
		if err != nil || res.Output(&got) != nil || got != i+1 {
			t.Fatalf("future %d: %v, output %d", i, err, got)
		}
	}
}

// RetryFor bounds the retries: a service that stays down fails the
// request once it has passed.
func TestRetryForBoundsRetries(t *testing.T) {
	t.Parallel()
	tr := &downTransport{next: http.DefaultTransport}
	b := setup(t, clienttest.Config{}, func(c *client.Config) {
		c.HTTPClient = &http.Client{Transport: tr}
		c.RetryFor = 300 * time.Millisecond
	})
	tr.down(time.Hour)
	start := time.Now()
	if _, err := b.c.ListEndpoints(b.ctx); err == nil {
		t.Fatal("a request to a service down for an hour succeeded")
	}
	// No timing is asserted beyond "it gave up at all, well before the
	// test's deadline"; the attempts show that RetryFor kept it going.
	if n := tr.refused(); n < client.DefaultMaxRetries+1 {
		t.Fatalf("%d attempts, want at least %d", n, client.DefaultMaxRetries+1)
	}
	t.Logf("gave up after %d attempts in %s", tr.refused(), time.Since(start))
}
