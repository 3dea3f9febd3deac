// Package pythontest finds the python3 that tests run Python functions
// with.
package pythontest

import (
	"os"
	"os/exec"
	"testing"
)

// debianPython is the system interpreter: Debian's python3, which the
// tests are written against, and which starts faster than a version
// manager's shim (pyenv) found first in PATH.
const debianPython = "/usr/bin/python3"

// Command returns the interpreter for tests: $FUNCX_TEST_PYTHON if set,
// else /usr/bin/python3, else python3 from PATH. It fails the test, saying
// what to install, when there is none.
func Command(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("FUNCX_TEST_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat(debianPython); err == nil {
		return debianPython
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		tb.Fatalf("no python3 for the Python function tests: install Debian's python3 (scripts/start-services.sh does) or set FUNCX_TEST_PYTHON")
	}
	return p
}
