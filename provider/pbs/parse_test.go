package pbs_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/pbs"
)

func TestParseQsub(t *testing.T) {
	t.Parallel()
	for out, want := range map[string]string{
		"1234.pbs-server\n":                         "1234.pbs-server",
		"1234.pbs01.example.org\n":                  "1234.pbs01.example.org",
		"  77  \n":                                  "77",
		"1235[].pbs-server\n":                       "1235[].pbs-server",
		"Site notice: maintenance on Friday\n9.s\n": "9.s",
	} {
		got, err := pbs.ParseQsub([]byte(out))
		if err != nil || got != want {
			t.Errorf("ParseQsub(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	for _, out := range []string{"", "\n", "qsub: Unknown queue\n", "1234.pbs server", "job 1234 submitted", "1234.\n"} {
		if got, err := pbs.ParseQsub([]byte(out)); err == nil {
			t.Errorf("ParseQsub(%q) = %q, want an error", out, got)
		}
	}
}

func TestParseQstat(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/qstat-mixed.json")
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := pbs.ParseQstat(b)
	if err != nil {
		t.Fatal(err)
	}
	if ids := slices.Sorted(func(yield func(string) bool) {
		for id := range jobs {
			if !yield(id) {
				return
			}
		}
	}); !slices.Equal(ids, []string{"1234.pbs-server", "1235.pbs-server", "1236.pbs-server", "1237.pbs-server"}) {
		t.Fatalf("jobs = %v", ids)
	}
	done := jobs["1234.pbs-server"]
	if done.State != "F" || !done.HasExitStatus || done.ExitStatus != 0 || done.Name != "funcx-0" ||
		done.ErrorPath != "login1:/home/alice/.funcx/default/submit_scripts/0.err" || done.Resources.Walltime != "00:02:00" || done.Used.Walltime != "00:00:10" {
		t.Errorf("finished job = %+v", done)
	}
	if q := jobs["1235.pbs-server"]; q.State != "Q" || q.HasExitStatus || !strings.HasPrefix(q.Comment, "Not Running") {
		t.Errorf("queued job = %+v", q)
	}
	if j := jobs["1237.pbs-server"]; !j.HasExitStatus || j.ExitStatus != 3 {
		t.Errorf("Exit_status given as a string: %+v", j)
	}
	// What each maps to.
	for id, want := range map[string]provider.JobState{
		"1234.pbs-server": provider.JobCompleted,
		"1235.pbs-server": provider.JobPending,
		"1236.pbs-server": provider.JobTimeout,
		"1237.pbs-server": provider.JobFailed,
	} {
		if st := pbs.JobStatus(provider.JobID(id), jobs[id], false, ""); st.State != want {
			t.Errorf("%s is %s (%q), want %s", id, st.State, st.Message, want)
		}
	}
}

func TestParseQstatEdgeCases(t *testing.T) {
	t.Parallel()
	for _, out := range []string{"", "\n  \n", `{"timestamp":1,"pbs_version":"2021.1","pbs_server":"s"}`} {
		jobs, err := pbs.ParseQstat([]byte(out))
		if err != nil || len(jobs) != 0 {
			t.Errorf("ParseQstat(%q) = %v, %v; want no jobs", out, jobs, err)
		}
	}
	for _, out := range []string{
		"qstat: Unknown Job Id 1.s",
		`{"Jobs":{"1.s":{"job_state":"F","Exit_status":"three"}}}`,
		`{"Jobs":{"1.s":{"job_state":"F","Exit_status":1.5}}}`,
		`{"Jobs":[]}`,
		`{"Jobs":{"1.s":{"job_state":"R"}}`,
	} {
		if jobs, err := pbs.ParseQstat([]byte(out)); err == nil {
			t.Errorf("ParseQstat(%q) = %v, want an error", out, jobs)
		}
	}
}

func TestParseQstatErrors(t *testing.T) {
	t.Parallel()
	stderr := "qstat: Unknown Job Id 99.pbs-server\n" +
		"qstat: illegally formed job identifier: providertest-no-such-job\n" +
		"\n"
	unknown, other := pbs.ParseQstatErrors([]byte(stderr), "qstat")
	if !slices.Equal(unknown, []string{"99.pbs-server", "providertest-no-such-job"}) || len(other) != 0 {
		t.Errorf("unknown %q, other %q", unknown, other)
	}
	stderr = "Connection refused\nqstat: cannot connect to server pbs-server (errno=15010)\nqstat: Unknown Job Id 5.s\n"
	unknown, other = pbs.ParseQstatErrors([]byte(stderr), "qstat")
	if !slices.Equal(unknown, []string{"5.s"}) || len(other) != 2 {
		t.Errorf("unknown %q, other %q", unknown, other)
	}
}

func TestQdelErrors(t *testing.T) {
	t.Parallel()
	harmless := "qdel: Unknown Job Id 99.pbs-server\nqdel: Job has finished 12.pbs-server\n" +
		"qdel: illegally formed job identifier: x\nqdel: Request invalid for state of job 13.pbs-server\n"
	if got := pbs.QdelErrors([]byte(harmless), "qdel"); len(got) != 0 {
		t.Errorf("harmless qdel errors reported: %q", got)
	}
	bad := "qdel: Unauthorized Request  14.pbs-server\nqdel: cannot connect to server pbs-server (errno=15010)\n"
	if got := pbs.QdelErrors([]byte(bad), "qdel"); len(got) != 2 {
		t.Errorf("qdel errors = %q, want both lines", got)
	}
}

func TestParseWalltime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"00:00:01": 1, "01:00:00": 3600, "120:00:00": 432000, "90": 90, "2:30": 150} {
		if got, err := pbs.ParseWalltime(in); err != nil || got != want {
			t.Errorf("ParseWalltime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1:2:3:4", "a:00", "-1", "1::2"} {
		if got, err := pbs.ParseWalltime(in); err == nil {
			t.Errorf("ParseWalltime(%q) = %d, want an error", in, got)
		}
	}
}

func FuzzParseQsub(f *testing.F) {
	for _, s := range []string{"1234.pbs-server\n", "", "banner\n1.s\n", "1[].s"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := pbs.ParseQsub(b)
		if err == nil && (id == "" || strings.ContainsAny(id, " \n\t")) {
			t.Errorf("ParseQsub(%q) = %q", b, id)
		}
	})
}

func FuzzParseQstat(f *testing.F) {
	if b, err := os.ReadFile("testdata/qstat-mixed.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"Jobs":{"1.s":{"job_state":"F","Exit_status":"3"}}}`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		jobs, err := pbs.ParseQstat(b)
		if err != nil {
			return
		}
		for id, j := range jobs {
			// Every decoded job maps to some state without panicking.
			st := pbs.JobStatus(provider.JobID(id), j, false, "tail")
			_ = st.State.String()
		}
	})
}

func FuzzParseQstatErrors(f *testing.F) {
	f.Add([]byte("qstat: Unknown Job Id 99.pbs-server\nqstat: illegally formed job identifier: x\n"))
	f.Add([]byte("qstat: cannot connect to server s (errno=15010)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		unknown, other := pbs.ParseQstatErrors(b, "qstat")
		for _, id := range unknown {
			if strings.Contains(id, "\n") {
				t.Errorf("unknown ID %q spans lines", id)
			}
		}
		_ = other
		_ = pbs.QdelErrors(b, "qdel")
	})
}

func FuzzParseWalltime(f *testing.F) {
	for _, s := range []string{"01:00:00", "90", "", "1:2:3:4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := pbs.ParseWalltime(s)
		if err == nil && n < 0 {
			t.Errorf("ParseWalltime(%q) = %d", s, n)
		}
	})
}
