package brokertest

import (
	"fmt"
	"os"
	"syscall"
	"testing"
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
	release, err := LockRabbitMQ(how == syscall.LOCK_EX)
	if err != nil {
		tb.Fatal(err)
	}
	// Closing the file releases the lock.
	tb.Cleanup(release)
}

// LockRabbitMQ takes the RabbitMQ lock, exclusively or shared, for a
// program that is not a test (the benchmark's fault matrix), and returns
// the function that releases it.
func LockRabbitMQ(exclusive bool) (release func(), err error) {
	f, err := os.OpenFile(RabbitMQLockPath, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open the RabbitMQ test lock: %w", err)
	}
	// Another user's umask may have narrowed it; the lock is for everyone.
	_ = f.Chmod(0o666)
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", RabbitMQLockPath, err)
	}
	return func() { f.Close() }, nil
}
