package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRecovery(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	// every adds results of ep every step seconds over [from, to), of
	// tasks that started 10 ms before.
	every := func(arr []arrival, ep string, from, to, step float64) []arrival {
		for s := from; s < to; s += step {
			arr = append(arr, arrival{at: at(s), endpoint: ep, started: at(s - 0.01)})
		}
		return arr
	}
	all := func(string) bool { return true }
	onlyA := func(ep string) bool { return ep == "A" }

	t.Run("outage then full rate", func(t *testing.T) {
		// 100/s for 10 s, nothing until 16 s, 100/s again.
		arr := every(every(nil, "A", 0, 10, 0.01), "A", 16, 30, 0.01)
		next, rate := recovery(arr, at(10), at(15), all, true)
		if d := next - 1; d < -0.02 || d > 0.02 {
			t.Errorf("next %v, want 1", next)
		}
		if d := rate - 1; d < -0.02 || d > 0.02 {
			t.Errorf("rate back %v, want 1 (the first result's window is full)", rate)
		}
	})
	t.Run("slow restart", func(t *testing.T) {
		// After the outage, 10/s for 5 s (below half of 100/s), then 100/s.
		arr := every(every(every(nil, "A", 0, 10, 0.01), "A", 16, 21, 0.1), "A", 21, 30, 0.01)
		_, rate := recovery(arr, at(10), at(15), all, true)
		// The first 2-s window with 100 results starts at 19.9 s: 11
		// results at 10/s, 89 at 100/s. That is 4.9 s after calm.
		if rate < 4.8 || rate > 5 {
			t.Errorf("rate back %v, want 4.9", rate)
		}
	})
	t.Run("other endpoint ignored", func(t *testing.T) {
		arr := every(every(every(nil, "A", 0, 10, 0.01), "B", 10, 30, 0.01), "A", 20, 30, 0.01)
		next, _ := recovery(arr, at(10), at(10), onlyA, true)
		if d := next - 10; d < -0.02 || d > 0.02 {
			t.Errorf("next %v, want 10: B's results do not count", next)
		}
	})
	t.Run("results on their way do not count", func(t *testing.T) {
		// A manager killed at 10 s: results of tasks it had finished keep
		// arriving for a second; new work flows from 15 s.
		arr := every(nil, "A", 0, 10, 0.01)
		for s := 10.0; s < 11; s += 0.01 {
			arr = append(arr, arrival{at: at(s), endpoint: "A", started: at(9.9)})
		}
		arr = every(arr, "A", 15, 30, 0.01)
		next, rate := recovery(arr, at(10), at(10), all, true)
		if d := next - 5; d < -0.02 || d > 0.02 {
			t.Errorf("next %v, want 5", next)
		}
		if d := rate - 5; d < -0.02 || d > 0.02 {
			t.Errorf("rate back %v, want 5", rate)
		}
	})
	t.Run("delivery after an outage counts", func(t *testing.T) {
		// The service back at 15 s: results of tasks that ran during the
		// outage arrive from 16 s; they count when newWork is off.
		arr := every(nil, "A", 0, 10, 0.01)
		for s := 16.0; s < 18; s += 0.01 {
			arr = append(arr, arrival{at: at(s), endpoint: "A", started: at(12)})
		}
		if next, rate := recovery(arr, at(10), at(15), all, false); next < 0.99 || next > 1.01 || rate < 0.99 || rate > 1.01 {
			t.Errorf("delivery: next %v, rate %v; want 1 and 1", next, rate)
		}
		if next, _ := recovery(arr, at(10), at(15), all, true); next != -1 {
			t.Errorf("new work: next %v, want none", next)
		}
	})
	t.Run("never back", func(t *testing.T) {
		arr := every(nil, "A", 0, 10, 0.01)
		if next, rate := recovery(arr, at(10), at(10), all, true); next != -1 || rate != -1 {
			t.Errorf("no result after the fault: %v, %v", next, rate)
		}
	})
	t.Run("run ends soon after", func(t *testing.T) {
		// 1 s of results after the fault: a short window still counts.
		arr := every(every(nil, "A", 0, 10, 0.01), "A", 10.5, 11.5, 0.01)
		if _, rate := recovery(arr, at(10), at(10), all, true); rate < 0.49 || rate > 0.51 {
			t.Errorf("rate back %v, want 0.5", rate)
		}
	})
	t.Run("backlog in a burst at the end", func(t *testing.T) {
		// 100/s before; after the restart the 300 results held up arrive
		// within 0.3 s and the run ends.
		arr := every(nil, "A", 0, 10, 0.01)
		arr = every(arr, "A", 16, 16.3, 0.001)
		if _, rate := recovery(arr, at(10), at(15), all, false); rate < 0.99 || rate > 1.01 {
			t.Errorf("rate back %v, want 1", rate)
		}
		// A trickle of 3 results at the end is no rate.
		trickle := every(every(nil, "A", 0, 10, 0.01), "A", 16, 16.3, 0.1)
		if _, rate := recovery(trickle, at(10), at(15), all, false); rate != -1 {
			t.Errorf("trickle: rate back %v, want -1", rate)
		}
	})
	t.Run("too little before the fault", func(t *testing.T) {
		arr := every(nil, "A", 0, 0.2, 0.01)
		arr = every(arr, "A", 1, 5, 0.01)
		if next, rate := recovery(arr, at(0.2), at(0.2), all, true); next < 0 || rate != -1 {
			t.Errorf("0.2 s before the fault: next %v, rate %v; want a next and no rate", next, rate)
		}
	})
}

func TestParseMetric(t *testing.T) {
	t.Parallel()
	page := []byte(`# HELP funcx_service_duplicate_results_total Results dropped.
# TYPE funcx_service_duplicate_results_total counter
funcx_service_duplicate_results_total_other 9
funcx_service_duplicate_results_total 52
funcx_service_dropped_results_total{reason="unknown"} 3
`)
	v, ok, err := parseMetric(page, duplicatesMetric)
	if err != nil || !ok || v != 52 {
		t.Fatalf("got %v, %v, %v; want 52", v, ok, err)
	}
	if _, ok, err := parseMetric([]byte("other 1\n"), duplicatesMetric); ok || err != nil {
		t.Fatalf("absent metric: %v, %v", ok, err)
	}
	if _, _, err := parseMetric([]byte(duplicatesMetric+" x\n"), duplicatesMetric); err == nil {
		t.Fatal("a value that is not a number was accepted")
	}
}

func FuzzParseMetric(f *testing.F) {
	f.Add([]byte(duplicatesMetric + " 3\n"))
	f.Add([]byte(duplicatesMetric + " \n"))
	f.Add([]byte("# TYPE x counter\nx{a=\"b\"} 1e3 123\n"))
	f.Fuzz(func(t *testing.T, page []byte) {
		v, ok, err := parseMetric(page, duplicatesMetric)
		if err != nil && ok {
			t.Fatalf("ok with an error: %v", err)
		}
		if !ok && v != 0 {
			t.Fatalf("a value %v without the metric", v)
		}
	})
}

func TestCountRuns(t *testing.T) {
	t.Parallel()
	n, err := countRuns(strings.NewReader("0\n1\n2\n1\n1\n3\n0\n"), 4)
	if err != nil || n != 2 {
		t.Fatalf("got %d, %v; want 2 tasks run twice", n, err)
	}
	for _, bad := range []string{"1\n4\n", "1\nx\n", "-1\n", "12"} {
		if _, err := countRuns(strings.NewReader(bad), 4); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzCountRuns(f *testing.F) {
	f.Add([]byte("0\n1\n1\n"), 2)
	f.Add([]byte("\n\n"), 1)
	f.Fuzz(func(t *testing.T, b []byte, tasks int) {
		n, err := countRuns(bytes.NewReader(b), tasks)
		if err == nil && (n < 0 || n > bytes.Count(b, []byte("\n"))+1) {
			t.Fatalf("%d tasks ran twice in %d lines", n, bytes.Count(b, []byte("\n"))+1)
		}
	})
}

func TestParseUserAdd(t *testing.T) {
	t.Parallel()
	out := []byte("client ID:     abc\nclient secret: s3\n\n  export FUNCX_SDK_CLIENT_ID=abc FUNCX_SDK_CLIENT_SECRET=s3\n")
	if id, secret, err := parseUserAdd(out); err != nil || id != "abc" || secret != "s3" {
		t.Fatalf("got %q, %q, %v", id, secret, err)
	}
	if _, _, err := parseUserAdd([]byte("error: database locked")); err == nil {
		t.Fatal("no credentials accepted")
	}
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	all, err := ParseFaults("")
	if err != nil || len(all) != len(All) {
		t.Fatalf("empty: %v, %v", all, err)
	}
	two, err := ParseFaults("service-kill, none")
	if err != nil || len(two) != 2 || two[0] != ServiceKill || two[1] != None {
		t.Fatalf("two: %v, %v", two, err)
	}
	if _, err := ParseFaults("disk-full"); err == nil || !strings.Contains(err.Error(), "worker-kill") {
		t.Fatalf("unknown fault: %v", err)
	}
	for _, f := range All {
		if f.Describe() == string(f) {
			t.Errorf("%s has no description", f)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	c := Config{Binaries: Binaries{Service: "s", Endpoint: "e"}, AMQPURL: "amqp://u:p@rabbit.example:5672/"}.WithDefaults()
	if c.Tasks != DefaultTasks || c.MaxRetries != DefaultMaxRetries || c.ManagementURL != "http://u:p@rabbit.example:15672" {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if n := (Config{MaxRetries: -1}).WithDefaults().MaxRetries; n != 0 {
		t.Errorf("MaxRetries -1 became %d, want 0", n)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Binaries = Binaries{} }, "Binaries"},
		{func(c *Config) { c.Tasks = 1 }, "Tasks"},
		{func(c *Config) { c.StrikeAt = 1.5 }, "StrikeAt"},
		{func(c *Config) { c.StallTimeout = -time.Second }, "StallTimeout"},
		{func(c *Config) { c.Window = -1 }, "Window"},
	} {
		bad := c
		tc.mod(&bad)
		if err := bad.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
}

func TestRowCheckAndTable(t *testing.T) {
	t.Parallel()
	good := Row{Fault: WorkerKill, Tasks: 10, Results: 10, Failed: map[string]int{"WorkerLost": 1}, ServiceDuplicates: 3, RanTwice: 1,
		NextResult: 0.25, RateBack: -1, ResultsAfter: 7}
	if err := good.Check(); err != nil {
		t.Fatalf("a good row: %v", err)
	}
	late := good
	late.ResultsAfter = 0
	if err := late.Check(); err == nil || !strings.Contains(err.Error(), "tested nothing") {
		t.Fatalf("a fault after the last result: %v", err)
	}
	bad := Row{Fault: ServiceKill, Tasks: 10, Results: 7, Lost: 3, DuplicateResults: 1, Failed: map[string]int{},
		Orphans: Orphans{Queues: []string{"q"}, Processes: []string{"1 x", "2 y"}}, NextResult: -1, RateBack: -1}
	err := bad.Check()
	for _, want := range []string{"service-kill", "7 results of 10", "3 tasks lost", "1 results received twice", "orphans"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad row: %v lacks %q", err, want)
		}
	}
	if got := bad.Orphans.String(); got != "3 (2 processes, 1 queue)" {
		t.Errorf("orphans %q", got)
	}
	if got := good.FailedString(); got != "WorkerLost 1" {
		t.Errorf("failed %q", got)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, []Row{good, bad}, Config{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasPrefix(lines[0], "FAULT") || !strings.Contains(lines[1], "10/10") || !strings.HasSuffix(lines[1], "yes") ||
		!strings.Contains(lines[1], "0.2/-") || !strings.HasSuffix(lines[2], "NO") || !strings.Contains(lines[2], "7/10") {
		t.Fatalf("table:\n%s", buf.String())
	}
	t.Logf("\n%s", buf.String())
}

// A scrape begun before a restart must not count the old service twice.
func TestDupCounterAcrossRestarts(t *testing.T) {
	t.Parallel()
	var value atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d\n", duplicatesMetric, value.Load())
	}))
	defer srv.Close()
	d := dupCounter{hc: srv.Client()}
	value.Store(4)
	d.scrape(context.Background(), srv.URL)
	d.restarted()
	value.Store(2) // the new service's own count
	d.scrape(context.Background(), srv.URL)
	if got := d.total(); got != 6 {
		t.Fatalf("total %d, want 4 + 2", got)
	}
	value.Store(1) // a counter does not go back: a stale answer is ignored
	d.scrape(context.Background(), srv.URL)
	if got := d.total(); got != 6 {
		t.Fatalf("total %d after a lower reading, want 6", got)
	}
}

// The RabbitMQ row's submitters keep tasks back: all of them while the run
// waits for the lock, a window's worth until the broker is down; the
// window still caps what is unanswered.
func TestLoadHoldBack(t *testing.T) {
	t.Parallel()
	// a: 6 tasks, b: 5, at most 3 unanswered each.
	l := &load{epIDs: []string{"a", "b"}, n: 11, window: 3, submitted: make([]int, 2), settledSubmit: make([]int, 2),
		received: map[string]int{}}
	if got := []int{l.total(0), l.total(1)}; got[0] != 6 || got[1] != 5 {
		t.Fatalf("totals %v, want [6 5]", got)
	}
	if l.mayNotSubmit(0) {
		t.Fatal("an idle submitter may not submit")
	}
	l.holdBack(l.n)
	if !l.mayNotSubmit(0) || !l.mayNotSubmit(1) {
		t.Fatal("submitters went on while every task is held back")
	}
	l.holdBack(3)
	l.submitted[0], l.received["a"] = 2, 2
	if l.mayNotSubmit(0) {
		t.Fatal("endpoint a, 4 unsubmitted and 3 held back, may not submit")
	}
	l.submitted[0], l.received["a"] = 3, 3
	if !l.mayNotSubmit(0) {
		t.Fatal("endpoint a submitted into the 3 tasks held back")
	}
	l.holdBack(0)
	if l.mayNotSubmit(0) {
		t.Fatal("endpoint a held back after holdBack(0)")
	}
	l.submitted[0] = 6
	if !l.mayNotSubmit(0) {
		t.Fatal("endpoint a submitted beyond its window of 3 unanswered")
	}
}
