package slurm_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/slurm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("script differs from %s (rerun with -update if the change is meant):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestScriptMinimal(t *testing.T) {
	j := provider.Job{BlockID: "0", Command: "exec funcx-endpoint"}.WithDefaults()
	got, err := slurm.Script(j, "/var/funcx/submit_scripts")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "minimal.sbatch", got)
}

func TestScriptFull(t *testing.T) {
	j := provider.Job{
		BlockID:          "7",
		Command:          provider.SingleNode{}.Wrap("'/opt/funcx bin/funcx-endpoint'", 2, 1),
		WorkerInit:       "module load go\nsource /opt/env/bin/activate",
		Env:              map[string]string{"FUNCX_ROLE": "manager", "FUNCX_MANAGER_CONFIG": `{"secret":"it's"}`},
		Nodes:            2,
		TasksPerNode:     2,
		CoresPerNode:     9,
		MemoryPerNode:    3<<30 + 1,
		GPUsPerNode:      4,
		Walltime:         26*time.Hour + 3*time.Minute + 500*time.Millisecond,
		Partition:        "gpu",
		Account:          "proj 42",
		QOS:              "debug",
		Constraint:       "a100&ib",
		Exclusive:        true,
		SchedulerOptions: "#SBATCH --mail-type=END\n#SBATCH --reservation=funcx\n",
		Labels:           map[string]string{"funcx-run": "abc123", "endpoint": "ep1"},
	}.WithDefaults()
	got, err := slurm.Script(j, "/scratch/my logs")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "full.sbatch", got)
}

func TestScriptRefusesDirectiveInjection(t *testing.T) {
	for name, mutate := range map[string]func(*provider.Job){
		"partition newline": func(j *provider.Job) { j.Partition = "debug\n#SBATCH --uid=0" },
		"account quote":     func(j *provider.Job) { j.Account = `a"b` },
		"label newline":     func(j *provider.Job) { j.Labels = map[string]string{"k": "v\nx"} },
	} {
		j := provider.Job{BlockID: "0", Command: "true"}
		mutate(&j)
		if _, err := slurm.Script(j.WithDefaults(), "/tmp"); err == nil {
			t.Errorf("%s: Script accepted it", name)
		}
	}
}

func TestFormatWalltime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "",
		-time.Second:                    "",
		time.Millisecond:                "0-00:00:01",
		time.Minute:                     "0-00:01:00",
		90 * time.Second:                "0-00:01:30",
		49*time.Hour + 59*time.Minute:   "2-01:59:00",
		10*24*time.Hour + 5*time.Second: "10-00:00:05",
		time.Hour - time.Nanosecond:     "0-01:00:00",
		23*time.Hour + 59*time.Minute + 59*time.Second: "0-23:59:59",
	} {
		if got := slurm.FormatWalltime(d); got != want {
			t.Errorf("FormatWalltime(%s) = %q, want %q", d, got, want)
		}
		if d > 0 {
			back, err := slurm.ParseDuration(slurm.FormatWalltime(d))
			if err != nil || back < d || back-d >= time.Second {
				t.Errorf("ParseDuration(FormatWalltime(%s)) = %s, %v", d, back, err)
			}
		}
	}
	if s := slurm.FormatWalltime(time.Minute); strings.Contains(s, " ") {
		t.Errorf("walltime %q has a space", s)
	}
}
