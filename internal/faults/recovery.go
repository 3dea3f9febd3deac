package faults

import (
	"slices"
	"time"
)

// Recovery windows: the rate before the fault is taken over preWindow
// (or since the first result, if the fault came sooner); the rate is
// back at the start of the first rateWindow at rateBackFraction of it.
const (
	preWindow        = 5 * time.Second
	rateWindow       = 2 * time.Second
	rateBackFraction = 0.5
	rateStep         = 100 * time.Millisecond
	// minTail is the shortest window that counts when the run ends less
	// than rateWindow after it starts.
	minTail = 500 * time.Millisecond
)

// recovery measures, over the results of the endpoints affected says the
// fault struck, the seconds from calm (the fault's end: the kill, or the
// moment the service, RabbitMQ or the endpoint was started again) until
// results flow again: to the arrival of the first result after calm, and
// to the start (not before that arrival) of the first rateWindow in which
// results arrived at rateBackFraction or more of their rate over
// preWindow before faultAt. With newWork, only results of tasks started
// after calm count as flowing: a killed worker, manager or daemon must
// run tasks again, and the results it had finished, still on their way,
// prove nothing. A window cut short by the end of the run is judged as if
// it spanned at least minTail. Either figure is -1 when it cannot be
// measured: no result after calm, too little before the fault to know
// its rate, or a rate never back.
func recovery(all []arrival, faultAt, calm time.Time, affected func(endpoint string) bool, newWork bool) (next, rateBack float64) {
	var pre, ts []time.Time
	for _, a := range all {
		if !affected(a.endpoint) {
			continue
		}
		pre = append(pre, a.at)
		if a.at.After(calm) && (!newWork || !a.started.Before(calm)) {
			ts = append(ts, a.at)
		}
	}
	byTime := func(a, b time.Time) int { return a.Compare(b) }
	slices.SortFunc(pre, byTime)
	slices.SortFunc(ts, byTime)
	if len(ts) == 0 {
		return -1, -1
	}
	first := ts[0]
	next = first.Sub(calm).Seconds()

	start := faultAt.Add(-preWindow)
	if len(pre) > 0 && pre[0].After(start) {
		start = pre[0]
	}
	span := faultAt.Sub(start)
	before := firstAt(pre, faultAt) - firstAt(pre, start)
	if span < minTail || before == 0 {
		return next, -1
	}
	rate := float64(before) / span.Seconds()
	last := ts[len(ts)-1]
	for t := first; !t.After(last); t = t.Add(rateStep) {
		end := t.Add(rateWindow)
		w := rateWindow
		if end.After(last) {
			// The run ends inside this window: the part up to the last
			// result, judged as at least minTail long (a burst of the
			// results held up by an outage may take less).
			end, w = last.Add(time.Nanosecond), max(last.Sub(t), minTail)
		}
		if float64(firstAt(ts, end)-firstAt(ts, t)) >= rateBackFraction*rate*w.Seconds() {
			return next, t.Sub(calm).Seconds()
		}
	}
	return next, -1
}

// firstAt is the index of the first of the sorted ts at or after t.
func firstAt(ts []time.Time, t time.Time) int {
	i, _ := slices.BinarySearchFunc(ts, t, func(e, t time.Time) int {
		if e.Before(t) {
			return -1
		}
		return 1
	})
	return i
}
