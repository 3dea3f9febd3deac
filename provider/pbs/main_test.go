package pbs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// shimDir holds the qsub, qstat, qdel and pbs_mom shims built from
// testdata/pbsshim.
var shimDir string

func TestMain(m *testing.M) {
	dir, err := buildShims()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shimDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// buildShims builds the shim once and links it under each command's name.
func buildShims() (string, error) {
	dir, err := os.MkdirTemp("", "funcx-pbsshim-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "qsub")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/pbsshim")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("build the PBS shims: %v\n%s", err, out)
	}
	for _, name := range []string{"qstat", "qdel", "pbs_mom"} {
		if err := os.Link(bin, filepath.Join(dir, name)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
