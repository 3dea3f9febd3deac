package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/endpoint"
)

func TestMain(m *testing.M) {
	// In-process tests that start an engine run this binary as its
	// managers and workers, as funcx-endpoint does.
	endpoint.ServeChildRole()
	// lumberjack v2.2.1 starts one goroutine per Logger that compresses
	// and prunes old logs, and Close does not end it (upstream issue
	// natefinch/lumberjack#56); the daemon has one Logger for its whole life.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}

// build builds the command packages (relative to this directory), static,
// into a temporary directory and returns the binaries' paths, in order.
func build(t *testing.T, pkgs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var bins []string
	for _, pkg := range pkgs {
		bin := filepath.Join(dir, filepath.Base(pkg))
		if pkg == "." {
			bin = filepath.Join(dir, "funcx-endpoint")
		}
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		// Static, as installed on login and compute nodes alike.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		bins = append(bins, bin)
	}
	return bins
}
