// Package examples_test checks that every example under examples/
// compiles from a module of its own, as a user copying it would build
// it: an example that imports an internal package of funcx, or anything
// else only the funcx module itself may use, fails here.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesBuildOutsideTheModule copies each example that is a package
// of the root module into a temporary module that requires funcx through
// a replace, and vets it there (which compiles it and its tests). The
// examples that are modules of their own (embed) are vetted in place.
func TestExamplesBuildOutsideTheModule(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := e.Name()
		gofiles, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(gofiles) == 0 {
			continue // profiles only (slurm, pbs, kubernetes)
		}
		built++
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				// Its go.mod and go.sum must be complete: no -mod=mod.
				goVet(t, dir)
				return
			}
			mod := t.TempDir()
			for _, f := range gofiles {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(mod, filepath.Base(f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			gomod := "module example.com/" + dir + "\n\ngo 1.26.0\n\nrequire github.com/funcx-go/funcx v0.0.0\n\nreplace github.com/funcx-go/funcx => " + root + "\n"
			if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			// The root's go.sum holds every hash the example needs: its
			// requirements are the root's.
			sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644); err != nil {
				t.Fatal(err)
			}
			goVet(t, mod, "GOFLAGS=-mod=mod")
		})
	}
	if built < 3 {
		t.Fatalf("found %d examples with Go code, want at least quickstart, custom-worker and embed", built)
	}
}

// goVet vets the module in dir, with env added to the environment.
func goVet(t *testing.T, dir string, env ...string) {
	t.Helper()
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet in %s, a module of its own: %v\n%s", dir, err, strings.TrimSpace(string(out)))
	}
}
