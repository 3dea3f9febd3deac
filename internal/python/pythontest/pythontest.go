// Package pythontest finds the python3 that tests run Python functions
// with.
package pythontest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/funcx-go/funcx/internal/needs"
)

// debianPython is the system interpreter: Debian's python3, which the
// tests are written against, and which starts faster than a version
// manager's shim (pyenv) found first in PATH.
const debianPython = "/usr/bin/python3"

// Command returns the interpreter for tests: $FUNCX_TEST_PYTHON if set,
// else /usr/bin/python3, else python3 from PATH. python3 is an external
// service to the tests (internal/needs): Command skips the test under
// -short, and fails it, saying what to install, when there is none.
func Command(tb testing.TB) string {
	tb.Helper()
	needs.Services(tb, needs.Python)
	if p := os.Getenv("FUNCX_TEST_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat(debianPython); err == nil {
		return debianPython
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		tb.Fatalf("no python3 for the Python function tests: run scripts/start-services.sh (as root), which installs Debian's python3, or set FUNCX_TEST_PYTHON")
	}
	return p
}
