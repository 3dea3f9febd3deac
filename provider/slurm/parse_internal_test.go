package slurm

import (
	"strings"
	"testing"
	"time"
)

func TestParseSubmit(t *testing.T) {
	for out, want := range map[string]string{
		"42\n":                    "42",
		"42;cluster1\n":           "42",
		"Submitted batch job 7\n": "7",
		"sbatch: warning: x\nSubmitted batch job 9\n": "9",
		"123_4\n": "123_4",
	} {
		got, err := parseSubmit(out)
		if err != nil || got != want {
			t.Errorf("parseSubmit(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	for _, out := range []string{"", "\n", "Submitted batch job\n", "sbatch: error: Batch job submission failed: Invalid partition name specified\n", "abc\n", "-1\n"} {
		if got, err := parseSubmit(out); err == nil {
			t.Errorf("parseSubmit(%q) = %q, want an error", out, got)
		}
	}
}

// Output of squeue --noheader --states=all --Format=squeueFormat, as
// Slurm 22.05 prints it.
const squeueOutput = `31|PENDING|Resources|0|0:00|1:00|/tmp/s/funcx-0.%j.err|
32|PENDING|JobHeldUser|0|0:00|UNLIMITED|/tmp/s/funcx-1.%j.err|
33|RUNNING|None|0|1:02:03|2-00:00:00|/tmp/s/funcx-2.%j.err|
34|FAILED|NonZeroExitCode|768|0:00|UNLIMITED|/tmp/s/funcx-3.34.err|
35|CANCELLED|None|15|0:17|1:00|(null)|
36|TIMEOUT|TimeLimit|15|1:01|1:00|/tmp/x|
37|COMPLETED|None|0|1:00|1:00|/tmp/x|
38|OUT_OF_MEMORY|OutOfMemory|9|0:05|Partition_Limit|/tmp/x|
`

func TestParseSqueue(t *testing.T) {
	recs, err := parseSqueue(squeueOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := []record{
		{ID: "31", State: "PENDING", Reason: "Resources", Limit: time.Minute, Stderr: "/tmp/s/funcx-0.%j.err"},
		{ID: "32", State: "PENDING", Reason: "JobHeldUser", Stderr: "/tmp/s/funcx-1.%j.err"},
		{ID: "33", State: "RUNNING", Elapsed: time.Hour + 2*time.Minute + 3*time.Second, Limit: 48 * time.Hour, Stderr: "/tmp/s/funcx-2.%j.err"},
		{ID: "34", State: "FAILED", Reason: "NonZeroExitCode", ExitCode: 3, Stderr: "/tmp/s/funcx-3.34.err"},
		{ID: "35", State: "CANCELLED", ExitCode: 143, Elapsed: 17 * time.Second, Limit: time.Minute},
		{ID: "36", State: "TIMEOUT", Reason: "TimeLimit", ExitCode: 143, Elapsed: 61 * time.Second, Limit: time.Minute, Stderr: "/tmp/x"},
		{ID: "37", State: "COMPLETED", Elapsed: time.Minute, Limit: time.Minute, Stderr: "/tmp/x"},
		{ID: "38", State: "OUT_OF_MEMORY", Reason: "OutOfMemory", ExitCode: 137, Elapsed: 5 * time.Second, Stderr: "/tmp/x"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v\nwant %+v", i, recs[i], want[i])
		}
	}
}

func TestParseSqueueRefusesOtherFormats(t *testing.T) {
	for _, out := range []string{
		"JOBID|STATE|REASON|EXIT_CODE|TIME|TIME_LIMIT|STDERR|\n", // a header: no job ID
		"31 PENDING Resources\n",
		"31|PENDING|Resources|x|0:00|1:00|/tmp|\n",
		"|PENDING|None|0|0:00|1:00|/tmp|\n",
		"31|PENDING|None|0|0:00|1:00|/tmp|extra|\n",
	} {
		if recs, err := parseSqueue(out); err == nil {
			t.Errorf("parseSqueue(%q) = %+v, want an error", out, recs)
		}
	}
	if recs, err := parseSqueue(""); err != nil || len(recs) != 0 {
		t.Errorf("parseSqueue(\"\") = %+v, %v", recs, err)
	}
}

// Output of sacct --noheader --parsable2 --allocations
// --format=sacctFormat.
const sacctOutput = `41|COMPLETED|0:0|00:00:05|01:00:00|None
42|CANCELLED by 0|0:15|00:00:17|00:01:00|None
43|FAILED|3:0|00:00:00|UNLIMITED|NonZeroExitCode
43.batch|FAILED|3:0|00:00:00||
44|TIMEOUT|0:0|00:01:02|00:01:00|TimeLimit
45|PENDING|0:0|00:00:00|1-00:00:00|Priority
46|NODE_FAIL|1:0|00:00:09.5|00:10:00|NodeDown
`

func TestParseSacct(t *testing.T) {
	recs, err := parseSacct(sacctOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := []record{
		{ID: "41", State: "COMPLETED", Elapsed: 5 * time.Second, Limit: time.Hour},
		{ID: "42", State: "CANCELLED by 0", ExitCode: 143, Elapsed: 17 * time.Second, Limit: time.Minute},
		{ID: "43", State: "FAILED", Reason: "NonZeroExitCode", ExitCode: 3},
		{ID: "44", State: "TIMEOUT", Reason: "TimeLimit", Elapsed: 62 * time.Second, Limit: time.Minute},
		{ID: "45", State: "PENDING", Reason: "Priority", Limit: 24 * time.Hour},
		{ID: "46", State: "NODE_FAIL", Reason: "NodeDown", ExitCode: 1, Elapsed: 9*time.Second + 500*time.Millisecond, Limit: 10 * time.Minute},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v\nwant %+v", i, recs[i], want[i])
		}
	}
	for _, out := range []string{"41|COMPLETED|0|00:00:05|01:00:00|None\n", "41|COMPLETED\n", "x|COMPLETED|0:0|0|0|None\n"} {
		if recs, err := parseSacct(out); err == nil {
			t.Errorf("parseSacct(%q) = %+v, want an error", out, recs)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"0:00":         0,
		"1:00":         time.Minute,
		"59:59":        59*time.Minute + 59*time.Second,
		"1:02:03":      time.Hour + 2*time.Minute + 3*time.Second,
		"2-00:00:00":   48 * time.Hour,
		"1-02":         26 * time.Hour,
		"1-02:03":      26*time.Hour + 3*time.Minute,
		"0-00:01:00":   time.Minute,
		"30":           30 * time.Minute,
		"00:00:01.250": 1250 * time.Millisecond,
		" 00:01:00 ":   time.Minute,
	} {
		got, err := ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", s, got, err, want)
		}
	}
	for _, s := range []string{"", "UNLIMITED", "INVALID", "NOT_SET", "Partition_Limit", "1:2:3:4", "-1:00", "1--2", "a:b", "1:00.x", "99999999999-00:00:00"} {
		if got, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an error", s, got)
		}
	}
}

func TestExitCodes(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "256": 1, "768": 3, "15": 143, "9": 137, "": 0, "N/A": 0, "33280": 130} {
		if got, err := waitStatusExitCode(s); err != nil || got != want {
			t.Errorf("waitStatusExitCode(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for s, want := range map[string]int{"0:0": 0, "3:0": 3, "0:15": 143, "1:9": 137, "": 0} {
		if got, err := sacctExitCode(s); err != nil || got != want {
			t.Errorf("sacctExitCode(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"x", "-1", "1:", "256:0", "3"} {
		if _, err := sacctExitCode(s); err == nil && s != "" {
			t.Errorf("sacctExitCode(%q): want an error", s)
		}
	}
}

func FuzzParseSqueue(f *testing.F) {
	f.Add(squeueOutput)
	f.Add("31|PENDING|None|0|0:00|1:00|/tmp|\n")
	f.Fuzz(func(t *testing.T, out string) {
		recs, err := parseSqueue(out)
		checkRecords(t, recs, err)
	})
}

func FuzzParseSacct(f *testing.F) {
	f.Add(sacctOutput)
	f.Fuzz(func(t *testing.T, out string) {
		recs, err := parseSacct(out)
		checkRecords(t, recs, err)
	})
}

func checkRecords(t *testing.T, recs []record, err error) {
	t.Helper()
	for _, r := range recs {
		if !validJobID(r.ID) || r.State == "" || r.Elapsed < 0 || r.Limit < 0 || r.ExitCode < 0 || r.ExitCode > 255 {
			t.Fatalf("bad record %+v (err %v)", r, err)
		}
	}
}

func FuzzParseSubmit(f *testing.F) {
	f.Add("42\n")
	f.Add("Submitted batch job 7\n")
	f.Add("42;cluster\n")
	f.Fuzz(func(t *testing.T, out string) {
		id, err := parseSubmit(out)
		if err == nil && !validJobID(id) {
			t.Fatalf("parseSubmit(%q) = %q, not a job ID", out, id)
		}
		if err != nil && id != "" {
			t.Fatalf("parseSubmit(%q) = %q with error %v", out, id, err)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1:00", "1-02:03:04", "00:00:01.5", "UNLIMITED", "30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %s", s, d)
		}
		if err == nil && strings.TrimSpace(s) == "" {
			t.Fatalf("ParseDuration(%q) accepted blank", s)
		}
	})
}
