package slurm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// record is one job as squeue or sacct describe it.
type record struct {
	ID       string
	State    string // Slurm's word, e.g. "RUNNING", "CANCELLED by 0"
	Reason   string // "" for Slurm's "None"
	ExitCode int    // shell style: 128+N for signal N
	Elapsed  time.Duration
	Limit    time.Duration // 0: none or unknown
	Stderr   string        // path of the job's stderr, when known
}

// squeueFormat is squeue's --Format: fields separated by '|' (the
// character after the colon is the separator; no width means no
// truncation), so that reasons with spaces stay whole.
const squeueFormat = "JobID:|,State:|,Reason:|,exit_code:|,TimeUsed:|,TimeLimit:|,StdErr:|"

// sacctFormat is sacct's --format, read with --parsable2 ('|' between
// fields, none at the end).
const sacctFormat = "JobID,State,ExitCode,Elapsed,Timelimit,Reason"

// parseSubmit reads the job ID from sbatch's standard output: "N" or
// "N;cluster" with --parsable, "Submitted batch job N" without.
func parseSubmit(out string) (string, error) {
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "Submitted batch job "); ok {
			line = rest
		}
		id, _, _ := strings.Cut(line, ";")
		if validJobID(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("no job ID in sbatch's output %q", truncate(out, 200))
}

// parseSqueue reads `squeue --noheader --Format=squeueFormat` output.
// Lines it cannot read are an error, naming the line: a changed output
// format must not pass for "job missing".
func parseSqueue(out string) ([]record, error) {
	var recs []record
	var errs []error
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(strings.TrimSuffix(line, "|"), "|")
		if len(f) != 7 {
			errs = append(errs, fmt.Errorf("squeue line %q has %d fields, want 7", truncate(line, 200), len(f)))
			continue
		}
		r := record{ID: strings.TrimSpace(f[0]), State: strings.TrimSpace(f[1]), Reason: reason(f[2])}
		var err error
		if r.ExitCode, err = waitStatusExitCode(strings.TrimSpace(f[3])); err != nil {
			errs = append(errs, fmt.Errorf("squeue line %q: %w", truncate(line, 200), err))
			continue
		}
		r.Elapsed, _ = ParseDuration(f[4]) // unknown elapsed time is no error
		r.Limit, _ = ParseDuration(f[5])
		if p := strings.TrimSpace(f[6]); p != "(null)" {
			r.Stderr = p
		}
		if !validJobID(r.ID) || r.State == "" {
			errs = append(errs, fmt.Errorf("squeue line %q has no job ID or state", truncate(line, 200)))
			continue
		}
		recs = append(recs, r)
	}
	return recs, errors.Join(errs...)
}

// parseSacct reads `sacct --noheader --parsable2 --allocations
// --format=sacctFormat` output.
func parseSacct(out string) ([]record, error) {
	var recs []record
	var errs []error
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 6 {
			errs = append(errs, fmt.Errorf("sacct line %q has %d fields, want 6", truncate(line, 200), len(f)))
			continue
		}
		r := record{ID: strings.TrimSpace(f[0]), State: strings.TrimSpace(f[1]), Reason: reason(f[5])}
		if strings.ContainsAny(r.ID, ".") {
			continue // a job step, despite --allocations
		}
		var err error
		if r.ExitCode, err = sacctExitCode(strings.TrimSpace(f[2])); err != nil {
			errs = append(errs, fmt.Errorf("sacct line %q: %w", truncate(line, 200), err))
			continue
		}
		r.Elapsed, _ = ParseDuration(f[3])
		r.Limit, _ = ParseDuration(f[4])
		if !validJobID(r.ID) || r.State == "" {
			errs = append(errs, fmt.Errorf("sacct line %q has no job ID or state", truncate(line, 200)))
			continue
		}
		recs = append(recs, r)
	}
	return recs, errors.Join(errs...)
}

func reason(s string) string {
	s = strings.TrimSpace(s)
	if s == "None" || s == "(null)" {
		return ""
	}
	return s
}

// waitStatusExitCode decodes squeue's exit_code, a raw wait(2) status:
// the exit status in bits 8-15, or the signal in bits 0-6.
func waitStatusExitCode(s string) (int, error) {
	if s == "" || s == "N/A" {
		return 0, nil
	}
	raw, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("exit code %q is not a wait status", s)
	}
	if sig := raw & 0x7f; sig != 0 {
		return 128 + int(sig), nil
	}
	return int(raw>>8) & 0xff, nil
}

// sacctExitCode decodes sacct's ExitCode, "status:signal".
func sacctExitCode(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	a, b, ok := strings.Cut(s, ":")
	code, err1 := strconv.ParseUint(a, 10, 8)
	sig, err2 := strconv.ParseUint(b, 10, 8)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("exit code %q is not status:signal", s)
	}
	if sig != 0 {
		return 128 + int(sig&0x7f), nil
	}
	return int(code), nil
}

// ParseDuration reads a Slurm time as squeue and sacct print it:
// [D-]HH:MM:SS, MM:SS, D-HH[:MM], or a bare number of minutes, with an
// optional fraction of seconds (sacct's "00:00:01.234"). UNLIMITED,
// INVALID, NOT_SET, Partition_Limit and the like are errors, which
// callers treat as "no limit known".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a Slurm time", truncate(s, 40))
	if s == "" {
		return 0, bad
	}
	var days int64
	d, rest, hasDays := strings.Cut(s, "-")
	if hasDays {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 {
			return 0, bad
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, bad
	}
	var frac time.Duration
	if last, f, ok := strings.Cut(parts[len(parts)-1], "."); ok {
		ms, err := strconv.ParseUint(f, 10, 32)
		if err != nil || len(f) > 9 {
			return 0, bad
		}
		for range 9 - len(f) {
			ms *= 10
		}
		frac = time.Duration(ms)
		parts[len(parts)-1] = last
	}
	nums := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return 0, bad
		}
		nums[i] = n
	}
	var h, m, sec int64
	switch len(nums) {
	case 3:
		h, m, sec = nums[0], nums[1], nums[2]
	case 2:
		if hasDays {
			h, m = nums[0], nums[1] // D-HH:MM
		} else {
			m, sec = nums[0], nums[1] // MM:SS
		}
	case 1:
		if hasDays {
			h = nums[0] // D-HH
		} else {
			m = nums[0] // minutes
		}
	}
	total := ((days*24+h)*60+m)*60 + sec
	if total > int64(1<<62/time.Second) {
		return 0, bad
	}
	return time.Duration(total)*time.Second + frac, nil
}

// validJobID reports whether s looks like a Slurm job ID: digits, with
// an optional array (_N) or heterogeneous (+N) suffix.
func validJobID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	head, tail := s, ""
	if i := strings.IndexAny(s, "_+"); i >= 0 {
		head, tail = s[:i], s[i+1:]
		if tail == "" || !allDigits(tail) {
			return false
		}
	}
	return head != "" && allDigits(head)
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
