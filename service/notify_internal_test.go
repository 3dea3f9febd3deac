package service

import (
	"slices"
	"testing"
)

func recs(owner string, seqs ...int64) []ResultRecord {
	out := make([]ResultRecord, len(seqs))
	for i, s := range seqs {
		out[i] = ResultRecord{Seq: s, Owner: owner}
	}
	return out
}

func seqs(rs []ResultRecord) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.Seq)
	}
	return out
}

// A wake-up hands a poll the results that woke it only when they are
// all the results it has not seen: their commit follows right after the
// last results announced before the poll read the store.
func TestNotifierPage(t *testing.T) {
	t.Run("contiguous commit", func(t *testing.T) {
		n := newNotifier()
		n.wake(recs("a", 1, 2)) // before the wait: the poll's read saw them
		wt := n.wait("a")
		n.wake(append(recs("b", 3), recs("a", 5, 4)...))
		<-wt.done()
		got, ok := wt.page(2, 10)
		if !ok || !slices.Equal(seqs(got), []int64{4, 5}) {
			t.Fatalf("page = %v, %v; want [4 5], true", seqs(got), ok)
		}
		if got, ok := wt.page(4, 10); !ok || !slices.Equal(seqs(got), []int64{5}) {
			t.Fatalf("page after 4 = %v, %v; want [5], true", seqs(got), ok)
		}
		if got, ok := wt.page(2, 1); !ok || !slices.Equal(seqs(got), []int64{4}) {
			t.Fatalf("page of 1 = %v, %v; want [4], true", seqs(got), ok)
		}
	})
	t.Run("another owner's commit in between", func(t *testing.T) {
		n := newNotifier()
		wt := n.wait("a")
		n.wake(recs("b", 1)) // does not wake a
		select {
		case <-wt.done():
			t.Fatal("woken by another owner's results")
		default:
		}
		n.wake(recs("a", 2))
		<-wt.done()
		if got, ok := wt.page(0, 10); ok {
			t.Fatalf("page = %v, true; want the store read (seq 1 came between)", seqs(got))
		}
		// A poll that waits now has seen everything up to 2.
		wt = n.wait("a")
		n.wake(recs("a", 3))
		<-wt.done()
		if got, ok := wt.page(2, 10); !ok || !slices.Equal(seqs(got), []int64{3}) {
			t.Fatalf("next page = %v, %v; want [3], true", seqs(got), ok)
		}
	})
	t.Run("gap in the seqs", func(t *testing.T) {
		// Results stored by another process sharing the store.
		n := newNotifier()
		n.wake(recs("a", 1))
		wt := n.wait("a")
		n.wake(recs("a", 3, 4))
		<-wt.done()
		if got, ok := wt.page(1, 10); ok {
			t.Fatalf("page = %v, true; want the store read (seq 2 is elsewhere)", seqs(got))
		}
		wt = n.wait("a")
		n.wake(recs("a", 5, 7))
		<-wt.done()
		if got, ok := wt.page(4, 10); ok {
			t.Fatalf("page = %v, true; want the store read (seq 6 is elsewhere)", seqs(got))
		}
	})
}

// An endpoint deletion wakes its owner's polls without carrying the
// results (there may be a million): they read the store, and the next
// commit after it can be carried again.
func TestNotifierWakeOwner(t *testing.T) {
	n := newNotifier()
	a, b := n.wait("a"), n.wait("b")
	n.wakeOwner("a", 7)
	select {
	case <-a.done():
	default:
		t.Fatal("a's poll was not woken")
	}
	select {
	case <-b.done():
		t.Fatal("b's poll was woken by a's deletion")
	default:
	}
	if got, ok := a.page(0, 10); ok {
		t.Fatalf("page = %v, true; want the store read", seqs(got))
	}
	wt := n.wait("a")
	n.wake(recs("a", 8))
	<-wt.done()
	if got, ok := wt.page(7, 10); !ok || !slices.Equal(seqs(got), []int64{8}) {
		t.Fatalf("next page = %v, %v; want [8], true", seqs(got), ok)
	}
	n.wakeOwner("nobody", 3) // no poll: nothing to do, and last stays 8
	if n.last != 8 {
		t.Fatalf("last = %d, want 8", n.last)
	}
}
