package endpoint

import (
	"testing"

	"github.com/funcx-go/funcx"
)

// The publisher skips results the result loop is publishing or has had
// confirmed, until their removal from the outbox is done.
func TestSentResults(t *testing.T) {
	var s sentResults
	a, b, c := funcx.NewTaskID(), funcx.NewTaskID(), funcx.NewTaskID()
	outbox := func() []funcx.Result {
		return []funcx.Result{{TaskID: a}, {TaskID: b}, {TaskID: c}}
	}
	ids := func(rs []funcx.Result) []funcx.TaskID {
		var out []funcx.TaskID
		for _, r := range rs {
			out = append(out, r.TaskID)
		}
		return out
	}
	if got := s.skipSent(outbox()); len(got) != 3 {
		t.Fatalf("nothing sent yet: %v", ids(got))
	}
	s.start([]funcx.TaskID{a, b})
	if got := s.skipSent(outbox()); len(got) != 1 || got[0].TaskID != c {
		t.Fatalf("a and b in flight: publisher would send %v", ids(got))
	}
	if got := s.takeConfirmed(); len(got) != 0 {
		t.Fatalf("confirmed before any answer: %v", got)
	}
	s.finish([]funcx.TaskID{a}, true)  // the broker confirmed a
	s.finish([]funcx.TaskID{b}, false) // b failed: the publisher must send it
	if got := s.skipSent(outbox()); len(got) != 2 || got[0].TaskID != b || got[1].TaskID != c {
		t.Fatalf("a confirmed, b failed: publisher would send %v", ids(got))
	}
	confirmed := s.takeConfirmed()
	if len(confirmed) != 1 || confirmed[0] != a {
		t.Fatalf("takeConfirmed: %v, want [a]", confirmed)
	}
	// Until the outbox no longer holds a, it stays skipped.
	if got := s.skipSent(outbox()); len(got) != 2 {
		t.Fatalf("a being removed: publisher would send %v", ids(got))
	}
	s.confirmDone(confirmed)
	if got := s.takeConfirmed(); len(got) != 0 {
		t.Fatalf("confirmed again after confirmDone: %v", got)
	}
	if got := s.skipSent(outbox()); len(got) != 3 {
		t.Fatalf("all settled: publisher would send %v", ids(got))
	}
}
