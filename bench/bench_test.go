package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/service/api"
)

// The test binary is also the manager and worker binary of the engines
// (and direct workers) the harness starts.
func TestMain(m *testing.M) {
	endpoint.ServeChildRole()
	goleak.VerifyTestMain(m)
}

// tlog sends the harness's progress lines to the test log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestQuickRun runs the whole harness with small counts and checks only
// correctness: every task back exactly once, every figure and ratio
// computed, the table and JSON complete, nothing left running. Timings
// are never asserted.
func TestQuickRun(t *testing.T) {
	args := []string{"-quick", "-rounds", "2"}
	// The hostile and retention phases run only when named
	// (TestHostileBody, TestRetentionPhase).
	want := slices.DeleteFunc(slices.Clone(rowOrder), func(k string) bool { return k == "hostile-rss" || k == "retention-size" })
	// Two engines and two sets of direct workers, a Python engine and its
	// direct interpreters, two container engines.
	wantRuns := 8
	if testing.Short() {
		// -short needs no service: the end-to-end rows need RabbitMQ, the
		// Python rows python3, the container rows dockerd.
		t.Log("-short: only the rows that need no service (not the end-to-end, Python or container rows)")
		args = append(args, "-only", "dispatch,engine")
		want = slices.DeleteFunc(want, func(k string) bool {
			return strings.HasPrefix(k, "e2e-") || strings.HasPrefix(k, "broker-") || strings.HasPrefix(k, "python-") || strings.HasPrefix(k, "container-")
		})
		wantRuns = 4
	} else {
		brokertest.ShareRabbitMQ(t)
	}
	o, err := parseOptions(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := run(ctx, o, tlog{t})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("rows", func(t *testing.T) {
		var keys []string
		for _, r := range rep.Rows {
			keys = append(keys, r.Key)
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("rows %v, want %v", keys, want)
		}
		for _, r := range rep.Rows {
			positive := func(what string, v float64) {
				if !(v > 0) || math.IsInf(v, 0) {
					t.Errorf("%s: %s = %v, want a positive finite number", r.Key, what, v)
				}
			}
			positive("value", r.Value)
			positive("baseline value", r.BaselineValue)
			positive("ratio", r.Ratio)
			if len(r.Rounds) != o.Rounds || len(r.BaselineRounds) != o.Rounds {
				t.Fatalf("%s: %d and %d round figures, want %d each", r.Key, len(r.Rounds), len(r.BaselineRounds), o.Rounds)
			}
			var ratios []float64
			for i := range r.Rounds {
				positive("round figure", r.Rounds[i])
				positive("baseline round figure", r.BaselineRounds[i])
				ratios = append(ratios, r.Rounds[i]/r.BaselineRounds[i])
			}
			if got := median(ratios); math.Abs(got-r.Ratio) > 1e-9*got {
				t.Errorf("%s: ratio %v, want the median of the rounds' ratios %v", r.Key, r.Ratio, got)
			}
			// The harness fails on a task returned twice or never; these
			// counts show that every round was checked.
			if want := r.Tasks * o.Rounds; r.Returned != want || r.BaselineReturned != want {
				t.Errorf("%s: %d and %d results checked, want %d each", r.Key, r.Returned, r.BaselineReturned, want)
			}
			switch {
			case r.Key == "shell-uncaptured" || r.Key == "shell-direct" || r.Key == "python-latency-p99" || r.Key == "e2e-python-sdk" || r.Key == "broker-hop-p50":
				if r.Target != nil {
					t.Errorf("%s: has a target", r.Key)
				}
			case r.Target == nil:
				t.Errorf("%s: no target", r.Key)
			default:
				positive("target score", r.Target.Score)
				if r.Target.Met != (r.Target.Score >= 1) {
					t.Errorf("%s: met %v with score %v", r.Key, r.Target.Met, r.Target.Score)
				}
			}
		}
		wantTasks := map[string]int{
			"dispatch": o.DispatchTasks, "noop-a": o.Tasks, "noop-b": o.Tasks,
			"latency-p50": o.Pings, "latency-p99": o.Pings,
			"shell-captured": o.ShellTasks, "shell-uncaptured": o.ShellTasks, "shell-direct": o.ShellTasks,
			"container-warm": max(20, o.Pings/5), "container-cold": 3,
			"e2e-noop": o.E2ETasks, "e2e-noop-ratio": o.E2ETasks, "e2e-latency-p50": o.Pings, "e2e-latency-p99": o.Pings, "broker-hop-p50": o.Pings,
			"python-noop": o.Tasks, "python-latency-p50": o.Pings, "python-latency-p99": o.Pings, "e2e-python-sdk": o.E2ETasks,
		}
		for _, r := range rep.Rows {
			if r.Tasks != wantTasks[r.Key] {
				t.Errorf("%s: %d tasks per round, want %d", r.Key, r.Tasks, wantTasks[r.Key])
			}
		}
	})

	t.Run("table", func(t *testing.T) {
		var buf bytes.Buffer
		if err := writeTable(&buf, rep); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		t.Logf("\n%s", out)
		lines := strings.Split(out, "\n")
		header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "MEASUREMENT") })
		if header < 0 || len(lines) < header+1+len(rep.Rows) {
			t.Fatalf("no header or too few lines:\n%s", out)
		}
		for i, r := range rep.Rows {
			l := lines[header+1+i]
			for _, want := range []string{r.Name, r.Baseline, format(r.Value, r.Unit)} {
				if !strings.Contains(l, want) {
					t.Errorf("row %s: line %q lacks %q", r.Key, l, want)
				}
			}
			if r.Target != nil && !strings.HasSuffix(l, "yes") && !strings.HasSuffix(l, "no") {
				t.Errorf("row %s: line %q is not marked met or not", r.Key, l)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := writeJSON(&buf, rep); err != nil {
			t.Fatal(err)
		}
		var back report
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Rows) != len(rep.Rows) || back.Rows[0].Key != "dispatch" || back.Options.Tasks != o.Tasks {
			t.Fatalf("JSON round trip lost data: %+v", back)
		}
	})

	t.Run("nothing left running", func(t *testing.T) {
		if len(rep.RunIDs) != wantRuns {
			t.Fatalf("run IDs %v, want %d", rep.RunIDs, wantRuns)
		}
		for _, id := range rep.RunIDs {
			if pids := proctest.WithEnv(manager.EnvRunID, id); len(pids) > 0 {
				t.Errorf("processes of run %s still running: %v", id, pids)
			}
			if !o.runs("containers") {
				continue // no dockerd to ask (-short)
			}
			out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=org.funcx.run="+id).CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("containers of run %s left: %s %v", id, out, err)
			}
		}
	})
}

// TestEngineStopLeavesNothing checks the helper every engine phase relies
// on: after stop, not one manager or worker process of the run is left.
func TestEngineStopLeavesNothing(t *testing.T) {
	var ids []string
	e, err := startEngine(context.Background(), 2, 4, &ids)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(proctest.WithEnv(manager.EnvRunID, e.RunID())); n < 3 {
		t.Errorf("%d processes of the run before stop, want a manager and 2 workers", n)
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	if pids := proctest.WithEnv(manager.EnvRunID, e.RunID()); len(pids) > 0 {
		t.Fatalf("processes left after stop: %v", pids)
	}
	if !slices.Equal(ids, []string{e.RunID()}) {
		t.Fatalf("run IDs recorded %v", ids)
	}
}

func TestTracker(t *testing.T) {
	t.Parallel()
	tr := newTracker(3)
	tasks := make([]funcx.Task, 3)
	tr.stamp(tasks, 0)
	if tasks[2].ID != tr.id(2) || tasks[0].ID == tasks[1].ID {
		t.Fatalf("stamped IDs %v", tasks)
	}
	if err := tr.mark(tasks[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := tr.mark(tasks[1].ID); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("second result of a task: %v", err)
	}
	if err := tr.mark(newTracker(3).id(0)); err == nil || !strings.Contains(err.Error(), "never submitted") {
		t.Fatalf("result of another run's task: %v", err)
	}
	if err := tr.mark(tr.id(3)); err == nil {
		t.Fatal("result of a task past the run's count accepted")
	}
	if tr.done() || tr.missing() == nil || !strings.Contains(tr.missing().Error(), "2 of 3") {
		t.Fatalf("done %v, missing %v", tr.done(), tr.missing())
	}
	_ = tr.mark(tasks[0].ID)
	_ = tr.mark(tasks[2].ID)
	if !tr.done() || tr.missing() != nil {
		t.Fatalf("all returned: done %v, missing %v", tr.done(), tr.missing())
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median of 5,1,3 = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4,1,3,2 = %v", got)
	}
	var ds []time.Duration
	for i := 1000; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	if p50, p99 := percentile(ds, 50), percentile(ds, 99); p50 != 500 || p99 != 990 {
		t.Errorf("p50 %v p99 %v of 1..1000, want 500 and 990", p50, p99)
	}
	if got := percentile(ds[:1], 99); got != 1000 {
		t.Errorf("p99 of one sample = %v", got)
	}
	if r := rate(10, 0); math.IsInf(r, 0) || r <= 0 {
		t.Errorf("rate over no time = %v, want finite", r)
	}
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -1234: "-1,234"} {
		if got := commas(v); got != want {
			t.Errorf("commas(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	r := row{Value: 300, BaselineValue: 600, Target: &target{Of: "value", Op: ">=", Threshold: 200}}
	r.finish()
	if r.Ratio != 0.5 || r.Target.Score != 1.5 || !r.Target.Met {
		t.Errorf("value >= target: %+v %+v", r, r.Target)
	}
	// Per-round pairs: the ratio is the median of the rounds' ratios, not
	// the ratio of the medians (here 2/3).
	r = row{Rounds: []float64{1, 2, 3}, BaselineRounds: []float64{1, 4, 6}, Value: 2, BaselineValue: 3}
	r.finish()
	if r.Ratio != 0.5 {
		t.Errorf("ratio of rounds 1/1, 2/4, 3/6 = %v, want 0.5", r.Ratio)
	}
	r = row{Value: 4, BaselineValue: 1, Target: &target{Of: "value", Op: "<=", Threshold: 2}}
	r.finish()
	if r.Target.Score != 0.5 || r.Target.Met {
		t.Errorf("latency over its ceiling: %+v", r.Target)
	}
	r = row{Value: 70, BaselineValue: 100, Target: &target{Of: "ratio", Op: ">=", Threshold: 0.8}}
	r.finish()
	if r.Target.Met || math.Abs(r.Target.Score-0.875) > 1e-9 {
		t.Errorf("ratio under its floor: %+v", r.Target)
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, io.Discard)
	if err != nil || o != defaults {
		t.Fatalf("no flags: %+v, %v", o, err)
	}
	o, err = parseOptions([]string{"-quick", "-tasks", "123", "-json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := quickDefaults
	want.Tasks, want.Quick, want.JSON = 123, true, true
	if o != want {
		t.Fatalf("-quick -tasks 123 -json: %+v, want %+v", o, want)
	}
	if _, err := parseOptions([]string{"-workers", "0"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-workers") {
		t.Fatalf("-workers 0: %v", err)
	}
	if _, err := parseOptions([]string{"-no-such-flag"}, io.Discard); err != errUsage {
		t.Fatalf("unknown flag: %v", err)
	}
}

// The fault matrix takes many minutes and restarts RabbitMQ: it runs only
// when -only names it, never in a full run.
func TestFaultsRunOnlyWhenNamed(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, io.Discard)
	if err != nil || o.picks("faults") || !o.runs("e2e") {
		t.Fatalf("no -only: faults %v, e2e %v, %v", o.picks("faults"), o.runs("e2e"), err)
	}
	o, err = parseOptions([]string{"-only", "faults", "-faults", "none,service-kill", "-fault-tasks", "100"}, io.Discard)
	if err != nil || !o.picks("faults") || o.runs("e2e") || o.FaultTasks != 100 {
		t.Fatalf("-only faults: %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-faults", "disk-full"}, {"-fault-strike", "1"}, {"-fault-stall", "0s"}, {"-fault-tasks", "0"}} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestHostileBody: the hostile phase's submission is one valid request
// of hostileTasks tasks and exactly hostileBodyBytes, under the service's
// limit. (The phase itself measures memory: go run ./bench -only hostile.)
func TestHostileBody(t *testing.T) {
	t.Parallel()
	body := hostileBody()
	if len(body) != hostileBodyBytes || len(body) > api.MaxRequestBytes {
		t.Fatalf("%d bytes, want %d (limit %d)", len(body), hostileBodyBytes, api.MaxRequestBytes)
	}
	var req api.SubmitRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Tasks) != hostileTasks || req.EndpointID == "" || req.Tasks[0].FunctionID == "" {
		t.Fatalf("%d tasks, endpoint %q", len(req.Tasks), req.EndpointID)
	}
}

// TestRetentionPhase runs the retention soak with small counts and
// checks its accounting: every task's result is either deleted or still
// within the TTL, and what is left is about one TTL's worth. Sizes are
// reported, never asserted.
func TestRetentionPhase(t *testing.T) {
	t.Parallel()
	const n = 50_000
	o, err := parseOptions([]string{"-quick", "-only", "retention", "-retention-tasks", "2000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(t.Context(), o, tlog{t})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Key != "retention-size" || rep.Rows[0].Returned != 2000 {
		t.Fatalf("rows %+v, want retention-size alone, with the results of 2000 tasks", rep.Rows)
	}

	s, err := runRetention(t.Context(), filepath.Join(t.TempDir(), "s.db"), n, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	// Deletion runs every retentionEvery: up to one TTL plus one period
	// of results is left, at least one TTL's.
	ttl, every := int(retentionTTL/time.Second)*retentionBatch, int(retentionEvery/time.Second)*retentionBatch
	if s.deleted+s.left != n || s.left < ttl || s.left > ttl+every || s.startSize == 0 || s.endSize == 0 {
		t.Fatalf("%+v; want %d..%d of %d results left and both sizes", s, ttl, ttl+every, n)
	}
}
