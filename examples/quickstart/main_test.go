package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstart builds the example and runs it as a user would, with no
// service or broker running: every demo task must print its real result,
// the no-op tasks must all succeed, and nothing may be left in the
// temporary directory.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "quickstart")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	cmd := exec.Command(bin, "-noops", "500")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, stderr.String())
	}
	for _, want := range []string{
		`service at http://127.0.0.1:`,
		`shell, argv:                   exit 0, stdout "Linux"`,
		`shell, script with arguments:  exit 0, stdout "HELLO, FUNCX!"`,
		`shell, non-zero exit:          exit 3, stdout "", stderr "about to fail"`,
		`go, registered function:       output "hello quickstart, from Go worker pid`,
		`go, function error:            failed: RemoteError: greet: name is empty`,
		`go, built-in echo:             output {"any":["json",1,true]}`,
		`go, not registered:            failed: FunctionNotFound`,
		`500 no-op Go tasks, 0 failed`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("quickstart left %d entries in its temporary directory, such as %s", len(left), left[0].Name())
	}
}
