package membroker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
)

// setup returns a Broker with an endpoint "ep".
func setup(t *testing.T) (*membroker.Broker, broker.Credentials) {
	t.Helper()
	b := newBroker(t)
	creds, err := b.EnsureEndpoint(t.Context(), "ep")
	if err != nil {
		t.Fatal(err)
	}
	return b, creds
}

func TestSeverLosesNothing(t *testing.T) {
	t.Parallel()
	b, creds := setup(t)
	ctx := t.Context()
	tasks := []funcx.Task{{ID: funcx.NewTaskID(), Function: funcx.GoFunc("f")}}
	if err := b.PublishTasks(ctx, "ep", tasks); err != nil {
		t.Fatal(err)
	}
	c, err := b.DialEndpoint(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	<-c.Deliveries() // delivered, never acked
	if tasks, _, _ := b.Pending("ep"); tasks != 1 {
		t.Fatalf("Pending tasks = %d, want 1 unacked", tasks)
	}
	if n := b.Sever("ep"); n != 1 {
		t.Fatalf("Sever ended %d connections, want 1", n)
	}
	<-c.Done()
	if !errors.Is(c.Err(), membroker.ErrSevered) {
		t.Fatalf("Err() = %v, want ErrSevered", c.Err())
	}
	c2, err := b.DialEndpoint(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	d := <-c2.Deliveries()
	if d.Tasks[0].ID != tasks[0].ID {
		t.Fatalf("redelivered %s, want %s", d.Tasks[0].ID, tasks[0].ID)
	}
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}
	if tasks, results, ok := b.Pending("ep"); tasks != 0 || results != 0 || !ok {
		t.Fatalf("Pending = %d, %d, %v; want 0, 0, true", tasks, results, ok)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	t.Parallel()
	b, creds := setup(t)
	ctx := t.Context()
	c, err := b.DialEndpoint(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- b.ConsumeResults(ctx, func(context.Context, string, broker.Message) error { return nil })
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), broker.ErrClosed) {
		t.Errorf("connection Err() = %v, want ErrClosed", c.Err())
	}
	select {
	case err := <-errc:
		if !errors.Is(err, broker.ErrClosed) {
			t.Errorf("ConsumeResults = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ConsumeResults still running after Close")
	}
	if _, err := b.EnsureEndpoint(ctx, "other"); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("EnsureEndpoint after Close = %v, want ErrClosed", err)
	}
	if _, err := b.DialEndpoint(ctx, creds); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("DialEndpoint after Close = %v, want ErrClosed", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg   membroker.Config
		field string
	}{
		{membroker.Config{Prefetch: -1}, "Prefetch"},
		{membroker.Config{MaxMessage: broker.DefaultMaxMessage + 1}, "MaxMessage"},
		{membroker.Config{RetryDelay: -1}, "RetryDelay"},
		{membroker.Config{RetryDelay: time.Minute}, "MaxRetryDelay"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			_, err := membroker.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
			}
		})
	}
	d := membroker.Config{}.WithDefaults()
	if d.Prefetch != membroker.DefaultPrefetch || d.MaxMessage != broker.DefaultMaxMessage {
		t.Errorf("WithDefaults() = %+v", d)
	}
}
