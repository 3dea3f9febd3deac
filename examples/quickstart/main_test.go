package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstart builds the example and runs it as a user would, checking
// that every demo task printed its real result.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "quickstart")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-noops", "500").Output()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []string{
		`shell, argv:                   exit 0, stdout "Linux"`,
		`shell, script with arguments:  exit 0, stdout "HELLO, FUNCX!"`,
		`shell, non-zero exit:          exit 3, stdout "", stderr "about to fail"`,
		`go, registered function:       output "hello quickstart, from Go worker pid`,
		`go, function error:            failed: RemoteError: greet: name is empty`,
		`go, built-in echo:             output {"any":["json",1,true]}`,
		`go, not registered:            failed: FunctionNotFound`,
		`500 tasks, 0 failed`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
