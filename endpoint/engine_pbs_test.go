package endpoint_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/worker"
)

// provider.type = "pbs" end to end: the engine submits its blocks with
// qsub, watches them with qstat and ends them with qdel — here the PBS
// shims of provider/pbs/testdata, which run each job script as a local
// process group — and the managers the job scripts start run tasks.
//
// Not parallel: it puts the shims first in $PATH.
func TestEngineOnPBS(t *testing.T) {
	shims := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(shims, "qsub"), "../provider/pbs/testdata/pbsshim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the PBS shims: %v\n%s", err, out)
	}
	for _, name := range []string{"qstat", "qdel", "pbs_mom"} {
		if err := os.Link(filepath.Join(shims, "qsub"), filepath.Join(shims, name)); err != nil {
			t.Fatal(err)
		}
	}
	state := t.TempDir()
	t.Setenv("PATH", shims+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("PBS_SHIM_STATE", state)
	t.Setenv("PBS_SHIM_KILL_DELAY", "2s")
	// Registered first, so it runs last: after the engine has stopped,
	// no MoM or job process of this server may remain.
	t.Cleanup(func() { proctest.WaitGone(t, "PBS_SHIM_STATE", state, 30*time.Second) })

	e := startEngine(t, endpoint.Config{
		MaxWorkersPerNode: 2,
		Provider: endpoint.ProviderConfig{
			Type: "pbs", InitBlocks: 1, MaxBlocks: 1, Walltime: time.Hour, Queue: "workq",
			CommandTimeout: 20 * time.Second,
		},
	})
	const n = 50
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(fmt.Sprint(i))}
	}
	if err := e.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, e, n, 2*time.Minute)
	for i, task := range tasks {
		r := got[task.ID]
		if r.State != funcx.StateSuccess || string(r.Output) != fmt.Sprint(i) {
			t.Errorf("task %d: %+v", i, r)
		}
	}
	if jobs, _ := filepath.Glob(filepath.Join(state, "jobs", "*.json")); len(jobs) == 0 {
		t.Error("no job went through the PBS shims")
	}
	blocks := e.Status().Blocks.Blocks
	if len(blocks) == 0 || blocks[0].JobID == "" || blocks[0].JobID[len(blocks[0].JobID)-len(".pbsserver"):] != ".pbsserver" {
		t.Errorf("blocks = %+v, want a PBS job", blocks)
	}
}
