package brokertest

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

const lockSharedNB = syscall.LOCK_SH | syscall.LOCK_NB

// The fault matrix holds the lock shared and owns it only for an outage:
// Own waits for the other holders (and gives up when its context ends),
// and Share hands the broker back to them.
func TestRabbitMQLockOwnAndShare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *RabbitMQLock {
		l, err := openLock(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		return l
	}
	run, other := open(), open()
	if err := run.Share(); err != nil {
		t.Fatal(err)
	}
	if err := other.Share(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run.Own(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Own while another holds the lock shared = %v, want context.Canceled", err)
	}
	other.Close()
	if err := run.Own(context.Background()); err != nil {
		t.Fatalf("Own once the other let go: %v", err)
	}
	third := open()
	if err := third.flock(lockSharedNB); err == nil {
		t.Fatal("a shared lock was granted while the run owns it")
	}
	if err := run.Share(); err != nil {
		t.Fatal(err)
	}
	if err := third.flock(lockSharedNB); err != nil {
		t.Fatalf("a shared lock after Share: %v", err)
	}
}
