package pbs_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/pbs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestJobScriptGolden(t *testing.T) {
	t.Parallel()
	full := provider.Job{
		BlockID:          "7",
		Name:             "funcx-7",
		Command:          provider.SingleNode{}.Wrap("/opt/funcx/bin/funcx-endpoint", 2, 2),
		WorkerInit:       "module load go\nsource ~/env/bin/activate",
		Env:              map[string]string{"FUNCX_SECRET": "s3cr'et", "FUNCX_RUN_ID": "abc"},
		Nodes:            2,
		TasksPerNode:     2,
		CoresPerNode:     32,
		MemoryPerNode:    64 << 30,
		GPUsPerNode:      4,
		Walltime:         90*time.Minute + 500*time.Millisecond,
		Queue:            "debug",
		Account:          "ALCF-proj",
		Exclusive:        true,
		SchedulerOptions: "#PBS -l filesystems=home:eagle\n#PBS -k doe",
	}
	minimal := provider.Job{BlockID: "0", Command: "funcx-endpoint"}
	for name, j := range map[string]provider.Job{"full": full, "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			j := j.WithDefaults()
			got := pbs.JobScript("/bin/bash", j, "/logs/"+j.BlockID+".out", "/logs/"+j.BlockID+".err")
			path := filepath.Join("testdata", "golden", name+".pbs")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestJobScriptGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("script differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{
		1: "1b", 1024: "1kb", 1536: "1536b", 3 << 20: "3mb", 1536 << 20: "1536mb", 64 << 30: "64gb", 2 << 40: "2tb",
	} {
		if got := pbs.FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{
		time.Second: "00:00:01", 1500 * time.Millisecond: "00:00:02", time.Hour: "01:00:00",
		48*time.Hour + 61*time.Second: "48:01:01", time.Nanosecond: "00:00:01",
	} {
		if got := pbs.FormatWalltime(in); got != want {
			t.Errorf("FormatWalltime(%s) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"funcx-1": "funcx-1", "1abc": "j1abc", "a b/c": "a_b_c", "": "j",
		strings.Repeat("x", 300): strings.Repeat("x", 236),
	} {
		if got := pbs.JobName(in); got != want {
			t.Errorf("JobName(%q) = %q, want %q", in, got, want)
		}
	}
}
