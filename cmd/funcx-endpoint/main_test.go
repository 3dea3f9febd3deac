package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build builds the command packages (relative to this directory) into a
// temporary directory and returns the binaries' paths, in order.
func build(t *testing.T, pkgs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var bins []string
	for _, pkg := range pkgs {
		bin := filepath.Join(dir, filepath.Base(pkg))
		if pkg == "." {
			bin = filepath.Join(dir, "funcx-endpoint")
		}
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		bins = append(bins, bin)
	}
	return bins
}
