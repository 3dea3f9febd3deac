package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/funcx-go/funcx/internal/faults"
)

// report is everything one run measured.
type report struct {
	Env     envInfo `json:"env"`
	Options options `json:"options"`
	Rows    []row   `json:"rows"`
	// RunIDs are the FUNCX_RUN_ID values of every engine and set of
	// direct workers the run started; the run checked that none of their
	// processes outlived it.
	RunIDs  []string `json:"run_ids"`
	Seconds float64  `json:"seconds"`
	// Faults are the fault matrix's rows (-only faults), measured with
	// FaultConfig.
	Faults      []faults.Row  `json:"faults,omitempty"`
	FaultConfig faults.Config `json:"-"`
}

type envInfo struct {
	CPUs      int    `json:"cpus"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
	Started   string `json:"started"`
}

func newReport(o options) *report {
	return &report{
		Env: envInfo{
			CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
			GoVersion: runtime.Version(), Started: time.Now().UTC().Format(time.RFC3339),
		},
		Options: o,
	}
}

// row is one figure beside its baseline from the same run.
type row struct {
	// Key names the row for programs: dispatch, noop-2w, latency-p50...
	Key  string `json:"key"`
	Name string `json:"name"`
	Unit string `json:"unit"` // "tasks/s" or "ms"
	// Value is the median of Rounds for rates, and the percentile of all
	// samples of every round for latencies (Rounds then holds each
	// round's own percentile).
	Value          float64   `json:"value"`
	Rounds         []float64 `json:"rounds"`
	Baseline       string    `json:"baseline"`
	BaselineValue  float64   `json:"baseline_value"`
	BaselineRounds []float64 `json:"baseline_rounds"`
	// Ratio is the median over rounds of Rounds[i] / BaselineRounds[i]:
	// each round measures the pair back to back, so load that drifts
	// between rounds cancels out of its ratio. (Value / BaselineValue
	// when there are no rounds.)
	Ratio float64 `json:"ratio"`
	// Tasks is the tasks per round on each side; Returned and
	// BaselineReturned count the results checked to have come back
	// exactly once and successful, over all rounds.
	Tasks            int     `json:"tasks"`
	Returned         int     `json:"returned"`
	BaselineReturned int     `json:"baseline_returned"`
	Target           *target `json:"target,omitempty"`
}

// target is a performance target (docs/architecture.md, Performance
// targets). Targets are marked, never enforced: timings on a shared
// machine are not pass/fail.
type target struct {
	// Of is what is compared: "value" or "ratio".
	Of string `json:"of"`
	// Op is ">=" or "<=".
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	// EndToEnd marks the end-to-end targets (client, service
	// and RabbitMQ included), applied here to the engine part alone:
	// meeting them is necessary, not sufficient.
	EndToEnd bool `json:"end_to_end"`
	// Score is how far past the target the figure is, >= 1 when met:
	// figure/threshold for ">=", threshold/figure for "<=".
	Score float64 `json:"score"`
	Met   bool    `json:"met"`
}

// finish computes the row's ratio and target figures.
func (r *row) finish() {
	r.Ratio = r.Value / r.BaselineValue
	if n := len(r.Rounds); n > 0 && n == len(r.BaselineRounds) {
		ratios := make([]float64, n)
		for i := range n {
			ratios[i] = r.Rounds[i] / r.BaselineRounds[i]
		}
		r.Ratio = median(ratios)
	}
	if t := r.Target; t != nil {
		got := r.Value
		if t.Of == "ratio" {
			got = r.Ratio
		}
		if t.Op == ">=" {
			t.Score = got / t.Threshold
		} else {
			t.Score = t.Threshold / got
		}
		t.Met = t.Score >= 1
	}
}

func (t *target) String() string {
	var s string
	switch {
	case t.Of == "ratio":
		s = fmt.Sprintf("ratio %s %.2fx", t.Op, t.Threshold)
	case t.Threshold >= 100:
		s = fmt.Sprintf("%s %s/s", t.Op, commas(t.Threshold))
	default:
		s = fmt.Sprintf("%s %g ms", t.Op, t.Threshold)
	}
	if t.EndToEnd {
		s += "*"
	}
	return fmt.Sprintf("%s (%.2fx)", s, t.Score)
}

// format shows a figure in its unit.
func format(v float64, unit string) string {
	if unit == "ms" {
		return fmt.Sprintf("%.3f ms", v)
	}
	return commas(v) + " " + unit
}

// commas formats v rounded to an integer with thousands separators.
func commas(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Sprint(v)
	}
	return faults.Commas(int(math.Round(v)))
}

// writeTable prints the report as an aligned table with a legend.
func writeTable(w io.Writer, rep *report) error {
	o := rep.Options
	if len(rep.Rows) == 0 && len(rep.Faults) > 0 {
		fmt.Fprintf(w, "funcx-go bench, fault matrix: %d CPUs, %s/%s, %s; %.0fs\n\n",
			rep.Env.CPUs, rep.Env.GOOS, rep.Env.GOARCH, rep.Env.GoVersion, rep.Seconds)
		return faults.WriteTable(w, rep.Faults, rep.FaultConfig)
	}
	fmt.Fprintf(w, "funcx-go bench: %d CPUs, %s/%s, %s; %d round(s) alternating with each baseline, median shown; %.0fs\n\n",
		rep.Env.CPUs, rep.Env.GOOS, rep.Env.GOARCH, rep.Env.GoVersion, o.Rounds, rep.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tRESULT\tBASELINE (same run)\tBASELINE RESULT\tRATIO\tTARGET\tMET")
	for _, r := range rep.Rows {
		tgt, met := "-", "-"
		if r.Target != nil {
			tgt, met = r.Target.String(), "no"
			if r.Target.Met {
				met = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fx\t%s\t%s\n",
			r.Name, format(r.Value, r.Unit), r.Baseline, format(r.BaselineValue, r.Unit), r.Ratio, tgt, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, `
RATIO: median over rounds of result / baseline, each pair measured back to back (for latencies lower is better).
Target (x): how far past the target, >= 1.00x met. Direct workers: the same worker processes, driven with no interchange or manager.
* an end-to-end target (client -> service -> RabbitMQ -> endpoint), applied to the engine alone: necessary, not sufficient.
Tasks per round: dispatch %s, no-op %s, latency %s one at a time, shell %s, end to end %s. Every task was checked to return exactly once.
Engines and the end-to-end endpoint run with prefetch_capacity %d (-prefetch).
`, commas(float64(o.DispatchTasks)), commas(float64(o.Tasks)), commas(float64(o.Pings)), commas(float64(o.ShellTasks)), commas(float64(o.E2ETasks)), o.Prefetch)
	if err != nil || len(rep.Faults) == 0 {
		return err
	}
	fmt.Fprintln(w, "\nFault matrix:")
	return faults.WriteTable(w, rep.Faults, rep.FaultConfig)
}

// writeJSON prints the report for programs.
func writeJSON(w io.Writer, rep *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
