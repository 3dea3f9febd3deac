package pbs_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/pbs"
	"github.com/funcx-go/funcx/provider/providertest"
)

// The shims answer as PBS Pro's commands do: output formats, messages on
// stderr and exit statuses (PBS error numbers modulo 256).
func TestShimsBehaveLikePBS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newShimServer(t)
	// The job stays queued for 3 s, so that the qstat right after qsub
	// sees it queued even on a loaded machine.
	r := provider.ExecRunner{Timeout: 30 * time.Second, Env: append(slices.Clip(s.env), "PBS_SHIM_START_DELAY=3s")}
	run := func(name string, args ...string) (provider.RunResult, int) {
		t.Helper()
		res, err := r.Run(ctx, filepath.Join(shimDir, name), args, nil)
		var cerr *provider.CommandError
		if err != nil && !errors.As(err, &cerr) {
			t.Fatalf("%s: %v", name, err)
		}
		return res, res.ExitCode
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "job.pbs")
	body := "#!/bin/bash\n#PBS -N shimtest\n#PBS -l select=1:ncpus=1\n#PBS -l walltime=00:10:00\n#PBS -o " + dir + "/out\n#PBS -e " + dir + "/err\necho done\n"
	if err := os.WriteFile(script, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	res, code := run("qsub", script)
	id := strings.TrimSpace(string(res.Stdout))
	if code != 0 || !regexp.MustCompile(`^[0-9]+\.pbsserver$`).MatchString(id) {
		t.Fatalf("qsub = %q (stderr %q), exit %d", res.Stdout, res.Stderr, code)
	}
	// Queued at first, finished soon after.
	res, code = run("qstat", "-x", "-f", "-F", "json", id)
	if code != 0 || !strings.HasPrefix(string(res.Stdout), "{\n    \"timestamp\":") || !strings.Contains(string(res.Stdout), `"job_state":"Q"`) {
		t.Errorf("qstat of a queued job: exit %d\n%s", code, res.Stdout)
	}
	var jobs map[string]pbs.QstatJob
	providertest.WaitFor(t, 30*time.Second, "the job finished", func() bool {
		res, _ := run("qstat", "-x", "-f", "-F", "json", id)
		var err error
		jobs, err = pbs.ParseQstat(res.Stdout)
		return err == nil && jobs[id].State == "F"
	})
	if j := jobs[id]; !j.HasExitStatus || j.ExitStatus != 0 || j.Name != "shimtest" || j.Resources.Walltime != "00:10:00" || !strings.HasSuffix(j.ErrorPath, ":"+dir+"/err") {
		t.Errorf("finished job = %+v", j)
	}
	if !json.Valid(res.Stdout) {
		t.Errorf("qstat printed invalid JSON:\n%s", res.Stdout)
	}
	if out, _ := os.ReadFile(filepath.Join(dir, "out")); string(out) != "done\n" {
		t.Errorf("job stdout = %q", out)
	}

	for _, c := range []struct {
		cmd    string
		args   []string
		code   int
		stderr string
	}{
		{"qstat", []string{"-f", "-F", "json", id}, 35, "qstat: " + id + " Job has finished, use -x or -H to obtain historical job information"},
		{"qstat", []string{"-x", "-f", "-F", "json", "424242.pbsserver"}, 153, "qstat: Unknown Job Id 424242.pbsserver"},
		{"qstat", []string{"-x", "-f", "-F", "json", "nonsense"}, 1, "qstat: illegally formed job identifier: nonsense"},
		{"qdel", []string{id}, 35, "qdel: Job has finished " + id},
		{"qdel", []string{"424242.pbsserver"}, 153, "qdel: Unknown Job Id 424242.pbsserver"},
		{"qsub", []string{filepath.Join(dir, "missing.pbs")}, 1, "qsub: script file:: No such file or directory"},
		{"qsub", []string{"-q", "nosuchqueue", script}, 170, "qsub: Unknown queue"},
		{"qsub", []string{"-l", "walltime=ten", script}, 2, "qsub: illegal -l value"},
	} {
		res, code := run(c.cmd, c.args...)
		if code != c.code || !strings.HasPrefix(string(res.Stderr), c.stderr) {
			t.Errorf("%s %v: exit %d, stderr %q; want %d, %q", c.cmd, c.args, code, res.Stderr, c.code, c.stderr)
		}
	}
	// Known and unknown together: the known job is still printed.
	res, code = run("qstat", "-x", "-f", "-F", "json", "424242.pbsserver", id)
	if jobs, err := pbs.ParseQstat(res.Stdout); code != 153 || err != nil || len(jobs) != 1 {
		t.Errorf("qstat of a known and an unknown job: exit %d, %v, %v", code, jobs, err)
	}
}
