package execrt_test

import (
	"strings"
	"testing"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/container/internal/execrt"
	"github.com/funcx-go/funcx/container/shifter"
	"github.com/funcx-go/funcx/container/singularity"
)

func TestCommandLines(t *testing.T) {
	t.Parallel()
	binds := []container.Bind{{Host: "/s", Container: "/s"}, {Host: "/w", Container: "/w", ReadOnly: true}}
	got := singularity.Argv("apptainer", "img.sif", []string{"--cleanenv"}, binds, true, []string{"/w", "x"})
	if want := "apptainer exec --cleanenv --bind /s:/s --bind /w:/w:ro --nv img.sif /w x"; strings.Join(got, " ") != want {
		t.Errorf("singularity: %q", got)
	}
	got = shifter.Argv("shifter", "docker:img", nil, binds, false, []string{"/w"})
	if want := "shifter --image=docker:img --volume=/s:/s --volume=/w:/w:ro -- /w"; strings.Join(got, " ") != want {
		t.Errorf("shifter: %q", got)
	}
}

func TestFindCommand(t *testing.T) {
	t.Parallel()
	if _, err := execrt.FindCommand(container.Shifter, []string{"shifter"}, "/nonexistent/shifter"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("got %v", err)
	}
	if _, err := execrt.FindCommand(container.Singularity, []string{"funcx-no-such-apptainer", "funcx-no-such-singularity"}, ""); err == nil ||
		!strings.Contains(err.Error(), "funcx-no-such-apptainer or funcx-no-such-singularity not found on PATH") {
		t.Errorf("got %v", err)
	}
	if p, err := execrt.FindCommand(container.Shifter, nil, "true"); err != nil || !strings.HasSuffix(p, "/true") {
		t.Errorf("an existing command: %q, %v", p, err)
	}
}

// New does no I/O: a runtime whose command does not exist is made, and
// its first Start says what is missing; ValidateOptions says so ahead.
func TestNewLooksNothingUp(t *testing.T) {
	t.Parallel()
	opts := container.Options{Command: "/nonexistent/apptainer"}
	rt, err := container.New(container.Singularity, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := rt.Start(t.Context(), container.Spec{Image: "x.sif", Command: []string{"/w"}}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Start = %v", err)
	}
	if err := container.ValidateOptions(container.Singularity, opts); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("ValidateOptions = %v", err)
	}
}
