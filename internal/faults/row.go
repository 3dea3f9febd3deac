package faults

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Row is what one run measured.
type Row struct {
	Fault Fault `json:"fault"`
	// Tasks is the run's task count; Submitted how many were submitted
	// (fewer only if the run was cut short).
	Tasks     int `json:"tasks"`
	Submitted int `json:"submitted"`
	// Results counts the tasks whose future resolved with a result,
	// successful or failed; Lost those submitted whose future never did.
	Results int `json:"results"`
	Lost    int `json:"lost"`
	// DuplicateResults counts results the SDK received for a task that
	// had one already (in the identity's results feed).
	DuplicateResults int `json:"duplicate_results"`
	// ServiceDuplicates is the service's duplicate_results_total, summed
	// over its restarts: results an endpoint sent twice (a re-run after a
	// crash) that the service dropped, as it should.
	ServiceDuplicates int `json:"service_duplicates"`
	// RanTwice counts tasks that ran more than once (their index appears
	// more than once in the record of executions).
	RanTwice int `json:"ran_twice"`
	// Failed counts failed results by error kind (SubmitError: the SDK
	// could not submit the task).
	Failed map[string]int `json:"failed"`
	// Orphans is what outlived the run's stop.
	Orphans Orphans `json:"orphans"`
	// NextResult is the seconds from the end of the fault (the kill; the
	// start of the service, RabbitMQ or the endpoint again) to the next
	// result of the endpoints it struck (after a kill: of a task started
	// after it); RateBack to the first 2-s window, from then, at half their
	// rate before the fault or better. -1: not measured (no fault, no
	// result after it, or the rate never came back).
	NextResult float64 `json:"next_result_s"`
	RateBack   float64 `json:"rate_back_s"`
	// ResultsAfter counts the results that arrived after the fault ended:
	// 0 means it struck when the work was done, and tested nothing.
	ResultsAfter int `json:"results_after_fault"`
	// Seconds is how long the whole run took, set-up and stop included.
	Seconds float64 `json:"seconds"`
	// Notes say what happened: the fault, what was cut short and why.
	Notes []string `json:"notes,omitempty"`
}

// Orphans are what a run left after its stop.
type Orphans struct {
	// Processes of the run (its marker or a run ID of its endpoints),
	// "pid command line".
	Processes []string `json:"processes,omitempty"`
	// VHosts, Queues, Exchanges and Users of RabbitMQ whose name (or
	// virtual host) holds the ID of an endpoint the run deleted.
	VHosts    []string `json:"vhosts,omitempty"`
	Queues    []string `json:"queues,omitempty"`
	Exchanges []string `json:"exchanges,omitempty"`
	Users     []string `json:"users,omitempty"`
	// TmpFiles are the entries left in the TMPDIR of the run's processes.
	TmpFiles []string `json:"tmp_files,omitempty"`
}

// Count is the number of orphans of every kind.
func (o Orphans) Count() int {
	return len(o.Processes) + len(o.VHosts) + len(o.Queues) + len(o.Exchanges) + len(o.Users) + len(o.TmpFiles)
}

// String counts them by kind: "0", or "3 (2 processes, 1 queue)".
func (o Orphans) String() string {
	if o.Count() == 0 {
		return "0"
	}
	var parts []string
	for _, k := range []struct {
		n    int
		what string
	}{{len(o.Processes), "process"}, {len(o.VHosts), "vhost"}, {len(o.Queues), "queue"}, {len(o.Exchanges), "exchange"}, {len(o.Users), "user"}, {len(o.TmpFiles), "tmp file"}} {
		if k.n > 0 {
			parts = append(parts, plural(k.n, k.what))
		}
	}
	return fmt.Sprintf("%d (%s)", o.Count(), strings.Join(parts, ", "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "s") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// FailedString lists failed results by kind, most first: "0" or
// "WorkerLost 2, ManagerLost 1".
func (r *Row) FailedString() string {
	kinds := slices.Collect(maps.Keys(r.Failed))
	slices.SortFunc(kinds, func(a, b string) int {
		if d := r.Failed[b] - r.Failed[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range kinds {
		if r.Failed[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.Failed[k]))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

// Check states the promise of a run: every task answered exactly once
// (failed results count as answers), none lost, none received twice,
// nothing left behind. Tasks that ran twice are reported, not refused: a
// daemon killed mid-task runs its journaled tasks again by design.
func (r *Row) Check() error {
	var errs []error
	if r.Results != r.Tasks {
		errs = append(errs, fmt.Errorf("%d results of %d tasks", r.Results, r.Tasks))
	}
	if r.Lost > 0 {
		errs = append(errs, fmt.Errorf("%d tasks lost", r.Lost))
	}
	if r.DuplicateResults > 0 {
		errs = append(errs, fmt.Errorf("%d results received twice", r.DuplicateResults))
	}
	if n := r.Failed["SubmitError"]; n > 0 {
		errs = append(errs, fmt.Errorf("%d submissions failed", n))
	}
	if r.Orphans.Count() > 0 {
		errs = append(errs, fmt.Errorf("orphans after stop: %+v", r.Orphans))
	}
	if r.Fault != None && r.ResultsAfter == 0 && r.Results == r.Tasks {
		errs = append(errs, errors.New("every result came before the fault ended: it tested nothing (run more tasks, or strike earlier)"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", r.Fault, err)
	}
	return nil
}

// note records what happened.
func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}
