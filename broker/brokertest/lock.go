package brokertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// RabbitMQLockPath is the machine-wide lock file that orders the tests
// sharing the local RabbitMQ: tests that use it hold it shared, a test
// that stops it (rabbitmqctl stop_app) holds it exclusively. Test
// packages run as parallel processes under `go test ./...`, so an
// in-process mutex could not keep an outage away from the others. It is
// in /tmp, not $TMPDIR, which may differ between the processes sharing
// the broker.
const RabbitMQLockPath = "/tmp/funcx-go-rabbitmq-tests.lock"

// ShareRabbitMQ takes the RabbitMQ lock shared until the test ends: it
// waits while a test that stops RabbitMQ runs, and keeps such a test from
// starting while this one runs. Call it in every test that uses the local
// RabbitMQ, after t.Parallel.
func ShareRabbitMQ(tb testing.TB) { lockRabbitMQ(tb, syscall.LOCK_SH) }

// OwnRabbitMQ takes the RabbitMQ lock exclusively until the test ends:
// for a test that stops and starts RabbitMQ. It waits for every test
// holding the lock shared, in any process, to end.
func OwnRabbitMQ(tb testing.TB) { lockRabbitMQ(tb, syscall.LOCK_EX) }

func lockRabbitMQ(tb testing.TB, how int) {
	tb.Helper()
	l, err := OpenRabbitMQLock()
	if err != nil {
		tb.Fatal(err)
	}
	// Closing the file releases the lock.
	tb.Cleanup(l.Close)
	if err := l.flock(how); err != nil {
		tb.Fatal(err)
	}
}

// RabbitMQLock is the machine-wide RabbitMQ lock held by a program that
// uses RabbitMQ for a long time and stops it only for a moment (the fault
// matrix): it holds the lock shared, takes it exclusively just for the
// outage (Own), and shared again after (Share), so that the other tests
// wait for the outage only, not for the whole run.
type RabbitMQLock struct{ f *os.File }

// OpenRabbitMQLock opens the lock, not yet held.
func OpenRabbitMQLock() (*RabbitMQLock, error) { return openLock(RabbitMQLockPath) }

func openLock(path string) (*RabbitMQLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open the RabbitMQ test lock: %w", err)
	}
	// Another user's umask may have narrowed it; the lock is for everyone.
	_ = f.Chmod(0o666)
	return &RabbitMQLock{f: f}, nil
}

// Share holds the lock shared (from exclusive: gives the broker back),
// waiting while a test that stops RabbitMQ holds it.
func (l *RabbitMQLock) Share() error { return l.flock(syscall.LOCK_SH) }

// Own holds the lock exclusively, waiting until every other holder, in
// any process, has let go, or until ctx ends. Taking it from shared is
// not atomic (flock(2)): while Own waits, l holds nothing, and another
// test may stop and start RabbitMQ first.
func (l *RabbitMQLock) Own(ctx context.Context) error {
	// A blocking flock cannot be interrupted by ctx: poll, often (a
	// cheap call), since the lock is free only between other tests.
	for {
		err := l.flock(syscall.LOCK_EX | syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the RabbitMQ test lock: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Close lets the lock go.
func (l *RabbitMQLock) Close() { _ = l.f.Close() }

func (l *RabbitMQLock) flock(how int) error {
	for {
		err := syscall.Flock(int(l.f.Fd()), how)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.f.Name(), err)
		}
		return nil
	}
}
