package main

import (
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client/clienttest"
)

// Usage errors exit 2 (kong's default was 80), with the usage; --help
// ends with the exit statuses.
func TestExitStatuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{})
	for _, args := range [][]string{{"explode"}, {}, {"run"}, {"status"}, {"submit", "-e", "x"}, {"result", "--wait", "soon", "t"},
		{"register-function", "--name", "x"}} {
		if r := w.run(t, args...); r.code != 2 || !strings.Contains(r.stderr, "funcx: error: ") || !strings.Contains(r.stdout, "Usage: funcx") {
			t.Errorf("%q: %+v, want exit 2 with the usage", args, r)
		}
	}
	if r := w.run(t, "run", "-e", "x"); r.code != 1 || !strings.Contains(r.stderr, "no command") {
		t.Errorf("run without a command: %+v, want exit 1", r)
	}
	if r := w.run(t, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Exit status: 0 on success; 1 on an error") ||
		!strings.Contains(r.stdout, "2 on a usage error") || !strings.Contains(r.stdout, "125 when the") {
		t.Errorf("--help does not list the exit statuses: %+v", r)
	}
}
