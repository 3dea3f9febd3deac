package pbs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// jobIDPattern matches the job IDs qsub prints: a sequence number, an
// array's brackets, and the server name ("1234.pbs-server",
// "1235[].pbs-server").
var jobIDPattern = regexp.MustCompile(`^[0-9]+(\[[0-9]*\])?(\.[A-Za-z0-9_.-]+)?$`)

// parseQsub returns the job ID qsub printed on stdout. qsub prints the ID
// alone on a line; anything else (a banner from a site's submit filter)
// comes before it.
func parseQsub(stdout []byte) (string, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if !jobIDPattern.MatchString(last) {
		return "", fmt.Errorf("qsub printed %q, not a job ID", truncate(string(stdout), 200))
	}
	return last, nil
}

// qstatOutput is the document `qstat -f -F json` prints.
type qstatOutput struct {
	Timestamp  json.RawMessage     `json:"timestamp"`
	PBSVersion string              `json:"pbs_version"`
	PBSServer  string              `json:"pbs_server"`
	Jobs       map[string]qstatJob `json:"Jobs"`
}

// qstatJob holds the attributes of one job the provider uses.
type qstatJob struct {
	Name      string `json:"Job_Name"`
	State     string `json:"job_state"`
	Comment   string `json:"comment"`
	ErrorPath string `json:"Error_Path"`
	Resources struct {
		Walltime string `json:"walltime"`
	} `json:"Resource_List"`
	Used struct {
		Walltime string `json:"walltime"`
	} `json:"resources_used"`
	RawExitStatus json.RawMessage `json:"Exit_status"`

	// Filled from RawExitStatus by parseQstat.
	ExitStatus    int  `json:"-"`
	HasExitStatus bool `json:"-"`
}

// parseQstat decodes qstat's JSON. Empty output (every ID asked for was
// unknown) is no jobs.
func parseQstat(stdout []byte) (map[string]qstatJob, error) {
	if len(bytes.TrimSpace(stdout)) == 0 {
		return map[string]qstatJob{}, nil
	}
	var out qstatOutput
	if err := json.Unmarshal(stdout, &out); err != nil {
		return nil, fmt.Errorf("decode qstat's JSON: %w", err)
	}
	jobs := make(map[string]qstatJob, len(out.Jobs))
	for id, j := range out.Jobs {
		if len(j.RawExitStatus) > 0 && string(j.RawExitStatus) != "null" {
			code, err := parseIntValue(j.RawExitStatus)
			if err != nil {
				return nil, fmt.Errorf("decode qstat's JSON: job %s: Exit_status: %w", id, err)
			}
			j.ExitStatus, j.HasExitStatus = code, true
		}
		j.RawExitStatus = nil
		jobs[id] = j
	}
	return jobs, nil
}

// parseIntValue reads a JSON number, or a string holding one: PBS prints
// numeric attributes as numbers, but hooks and older versions give
// strings.
func parseIntValue(raw json.RawMessage) (int, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", truncate(string(raw), 40))
	}
	return n, nil
}

// qstatUnknownPrefixes start the lines qstat writes to stderr, one per
// job ID it could not report, while it still prints the others.
var qstatUnknownPrefixes = []string{
	"Unknown Job Id ",                   // PBSE_UNKJOBID, exit status 153
	"illegally formed job identifier: ", // not a job ID at all
}

// parseQstatErrors reads the stderr of qstat: the IDs it reported as
// unknown, and the lines that are something else (the server could not
// be reached, a permission error), which mean the command failed.
func parseQstatErrors(stderr []byte, command string) (unknown []string, other []string) {
	for line := range strings.Lines(string(stderr)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest := strings.TrimPrefix(line, command+": ")
		matched := false
		for _, p := range qstatUnknownPrefixes {
			if id, ok := strings.CutPrefix(rest, p); ok {
				unknown = append(unknown, strings.TrimSpace(id))
				matched = true
				break
			}
		}
		if !matched {
			other = append(other, line)
		}
	}
	return unknown, other
}

// qdelHarmless start the qdel error lines that mean the job is already
// gone or going, which Cancel does not report: the job is unknown
// (PBSE_UNKJOBID), has finished (PBSE_HISTJOBID), or is in a state that
// cannot be deleted because it is ending.
var qdelHarmless = []string{
	"Unknown Job Id ",
	"Job has finished ",
	"illegally formed job identifier: ",
	"Request invalid for state of job ",
}

// qdelErrors returns the lines of qdel's stderr that are real errors.
func qdelErrors(stderr []byte, command string) []string {
	var other []string
	for line := range strings.Lines(string(stderr)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest := strings.TrimPrefix(line, command+": ")
		harmless := false
		for _, p := range qdelHarmless {
			if strings.HasPrefix(rest, p) {
				harmless = true
				break
			}
		}
		if !harmless {
			other = append(other, line)
		}
	}
	return other
}

// parseWalltime reads PBS's [[HH:]MM:]SS duration into seconds.
func parseWalltime(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty walltime")
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("walltime %q is not [[HH:]MM:]SS", s)
	}
	var total int64
	for _, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || n > 1<<40 {
			return 0, fmt.Errorf("walltime %q is not [[HH:]MM:]SS", s)
		}
		total = total*60 + n
	}
	return total, nil
}

// walltimeExceeded reports whether the job used all of its walltime,
// which is how a walltime kill shows on servers that report it as a
// signal rather than JOB_EXEC_KILL_WALLTIME.
func (j qstatJob) walltimeExceeded() bool {
	limit, err := parseWalltime(j.Resources.Walltime)
	if err != nil || limit <= 0 {
		return false
	}
	used, err := parseWalltime(j.Used.Walltime)
	return err == nil && used >= limit
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
