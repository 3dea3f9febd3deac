package brokerutil

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

func TestSplitTasks(t *testing.T) {
	t.Parallel()
	tasks := make([]funcx.Task, 10)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("f"), Args: bytes.Repeat([]byte("a"), 1000)}
	}
	for _, max := range []int{broker.DefaultMaxMessage, 5000, 1100} {
		bodies, err := SplitTasks(tasks, max)
		if err != nil {
			t.Fatalf("max %d: %v", max, err)
		}
		var got []funcx.Task
		for _, b := range bodies {
			if len(b) > max {
				t.Fatalf("max %d: body of %d bytes", max, len(b))
			}
			ts, err := broker.DecodeTasks(broker.TypeTasks, b)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ts...)
		}
		if len(got) != len(tasks) {
			t.Fatalf("max %d: %d tasks back, want %d", max, len(got), len(tasks))
		}
		for i := range got {
			if got[i].ID != tasks[i].ID {
				t.Fatalf("max %d: task %d out of order", max, i)
			}
		}
	}
	if _, err := SplitTasks(tasks, 500); !errors.Is(err, broker.ErrTooLarge) {
		t.Fatalf("split with items over the limit: %v, want ErrTooLarge", err)
	}
}

func TestValidateEndpointID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a", "0b7e-Ab_9", "6d1f4a9e-8f4c-4a2b-9c1d-0e1f2a3b4c5d"} {
		if err := ValidateEndpointID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", "a.b", "a/b", "a*", string(bytes.Repeat([]byte("a"), 201))} {
		if err := ValidateEndpointID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}
	for i, want := range []time.Duration{100, 200, 400, 400} {
		want *= time.Millisecond
		if d := b.Next(); d > want || d < want*4/5 {
			t.Errorf("step %d: %s, want %s less up to 20%%", i, d, want)
		}
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Errorf("after Reset: %s", d)
	}
}
