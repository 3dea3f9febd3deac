package interchange

import "github.com/funcx-go/funcx"

// taskQueue is a FIFO deque of tasks backed by a ring buffer. Retried and
// returned tasks go to the front: they have waited longest.
type taskQueue struct {
	buf        []funcx.Task
	head, size int
}

func (q *taskQueue) len() int { return q.size }

func (q *taskQueue) grow() {
	n := max(64, 2*len(q.buf))
	buf := make([]funcx.Task, n)
	for i := range q.size {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

func (q *taskQueue) pushBack(t funcx.Task) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)%len(q.buf)] = t
	q.size++
}

func (q *taskQueue) pushFront(t funcx.Task) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = t
	q.size++
}

// popFront removes up to n tasks from the front and calls fn with each.
func (q *taskQueue) popFront(n int, fn func(*funcx.Task)) {
	for ; n > 0 && q.size > 0; n-- {
		t := &q.buf[q.head]
		fn(t)
		*t = funcx.Task{} // release argument buffers for the collector
		q.head = (q.head + 1) % len(q.buf)
		q.size--
	}
	if q.size == 0 && len(q.buf) > 1<<16 {
		q.buf, q.head = nil, 0 // give back a burst's memory
	}
}

// queues holds one taskQueue per container type, in first-seen order so
// that routing rounds are deterministic.
type queues struct {
	byType map[string]*taskQueue
	order  []string
	total  int
}

func (qs *queues) get(typ string) *taskQueue {
	q, ok := qs.byType[typ]
	if !ok {
		if qs.byType == nil {
			qs.byType = map[string]*taskQueue{}
		}
		q = &taskQueue{}
		qs.byType[typ] = q
		qs.order = append(qs.order, typ)
	}
	return q
}

func (qs *queues) pushBack(t funcx.Task)  { qs.get(t.Container).pushBack(t); qs.total++ }
func (qs *queues) pushFront(t funcx.Task) { qs.get(t.Container).pushFront(t); qs.total++ }

func (qs *queues) popFront(typ string, n int, fn func(*funcx.Task)) {
	q := qs.byType[typ]
	if q == nil {
		return
	}
	before := q.len()
	q.popFront(n, fn)
	qs.total -= before - q.len()
}
