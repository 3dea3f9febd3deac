package worker_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
)

// A worker remembers where it found a command on PATH; when the program
// moves to another PATH directory, the next task finds it there instead
// of failing on the remembered path. Not parallel: it sets PATH.
func TestShellCommandMovedOnPath(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	t.Setenv("PATH", first+string(os.PathListSeparator)+second+string(os.PathListSeparator)+os.Getenv("PATH"))
	script := []byte("#!/bin/sh\necho \"$0 ran\"\n")
	if err := os.WriteFile(filepath.Join(first, "fx-moving-tool"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	c := serve(t, worker.Config{WorkerID: 1})
	run := func() funcx.Result {
		t.Helper()
		rs, err := c.Run(newTask(funcx.Command("fx-moving-tool"), ""))
		if err != nil || len(rs) != 1 {
			t.Fatalf("run: %v (%d results)", err, len(rs))
		}
		return rs[0]
	}
	for range 2 { // the second run uses the remembered path
		r := run()
		wantSuccess(t, r)
		if got, want := string(r.Stdout), filepath.Join(first, "fx-moving-tool")+" ran\n"; got != want {
			t.Fatalf("stdout %q, want %q", got, want)
		}
	}

	if err := os.Rename(filepath.Join(first, "fx-moving-tool"), filepath.Join(second, "fx-moving-tool")); err != nil {
		t.Fatal(err)
	}
	r := run()
	wantSuccess(t, r)
	if got, want := string(r.Stdout), filepath.Join(second, "fx-moving-tool")+" ran\n"; got != want {
		t.Errorf("after the move: stdout %q, want %q", got, want)
	}

	if err := os.Remove(filepath.Join(second, "fx-moving-tool")); err != nil {
		t.Fatal(err)
	}
	if r := run(); r.ExitCode != worker.ExitNotFound || r.Error == nil || r.Error.Kind != funcx.RemoteError {
		t.Errorf("after removal: exit %d error %v, want %d and a RemoteError", r.ExitCode, r.Error, worker.ExitNotFound)
	}
}
