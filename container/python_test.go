package container_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/python/pythontest"
)

// pythonImage is the test image for Python functions: FROM scratch, with
// the host's python3, the shared libraries ldd lists for it and its
// standard library. Nothing can be pulled here, so it is built from the
// host's own files.
const pythonImage = "funcx-test-python"

var (
	pythonImageOnce sync.Once
	pythonImageErr  error
)

// needPythonImage builds pythonImage once per test binary, unless docker
// already has it for this host's python3 (its label records which).
func needPythonImage(t *testing.T) {
	t.Helper()
	needDocker(t)
	pythonImageOnce.Do(func() { pythonImageErr = buildPythonImage(pythontest.Command(t)) })
	if pythonImageErr != nil {
		t.Fatal(pythonImageErr)
	}
}

// Parts of the standard library no test function needs, left out to keep
// the image small.
var skipStdlib = regexp.MustCompile(`^(config-.*|test|idlelib|tkinter|lib2to3|pydoc_data|ensurepip|distutils|turtledemo)$`)

func buildPythonImage(python string) error {
	exe, err := filepath.EvalSymlinks(python)
	if err != nil {
		return fmt.Errorf("python image: %w", err)
	}
	st, err := os.Stat(exe)
	if err != nil {
		return fmt.Errorf("python image: %w", err)
	}
	out, err := exec.Command(exe, "-c", "import sys, sysconfig; print(sys.version.split()[0]); print(sysconfig.get_paths()['stdlib'])").Output()
	if err != nil {
		return fmt.Errorf("python image: ask %s for its standard library: %w", exe, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return fmt.Errorf("python image: %s answered %q", exe, out)
	}
	stdlib := lines[1]
	key := fmt.Sprintf("%s %s %d %d", exe, lines[0], st.Size(), st.ModTime().UnixNano())
	if have, err := exec.Command("docker", "image", "inspect", "-f", `{{index .Config.Labels "org.funcx.python-key"}}`, pythonImage).Output(); err == nil &&
		strings.TrimSpace(string(have)) == key {
		return nil
	}

	dir, err := os.MkdirTemp("", "funcx-python-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "rootfs")
	// The interpreter under the name the worker runs (python3), where it
	// finds its standard library (prefix/lib/pythonX.Y).
	bin := filepath.Join(filepath.Dir(python), "python3")
	if err := copyFile(exe, filepath.Join(root, bin)); err != nil {
		return err
	}
	libs, err := exec.Command("ldd", exe).Output()
	if err != nil {
		return fmt.Errorf("python image: ldd %s: %w", exe, err)
	}
	for _, m := range regexp.MustCompile(`(?m)(/\S+) \(0x`).FindAllStringSubmatch(string(libs), -1) {
		if err := copyFile(m[1], filepath.Join(root, m[1])); err != nil {
			return err
		}
	}
	if err := copyTree(stdlib, filepath.Join(root, stdlib)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "funcx-image"), []byte("python\n"), 0o644); err != nil {
		return err
	}
	df := fmt.Sprintf("FROM scratch\nCOPY rootfs/ /\nENV PATH=%s\nLABEL org.funcx.test-image=python org.funcx.python-key=%q\n", filepath.Dir(bin), key)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("docker", "build", "-q", "-t", pythonImage, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s: %v: %s", pythonImage, err, bytes.TrimSpace(out))
	}
	return nil
}

// copyFile copies src (following symlinks) to dst, keeping its mode.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("python image: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyTree copies the regular files of a directory tree, leaving out the
// top-level entries skipStdlib names and compiled caches.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (skipStdlib.MatchString(rel) || d.Name() == "__pycache__") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
}

// TestDockerPythonTask runs Python functions in a warm container of the
// Python image: they run inside it (its marker file, its hostname), in
// one interpreter kept across tasks, beside a Go function of the same
// worker.
func TestDockerPythonTask(t *testing.T) {
	t.Parallel()
	needPythonImage(t)
	e := startEngine(t, dockerConfig(endpoint.RoutingSoft, 1, 1))
	src := `import os, sys

def where(f_name, n):
    import math
    f = getattr(math, f_name)
    with open("/funcx-image") as marker:
        image = marker.read().strip()
    print("running in", image)
    return {"image": image, "hostname": os.uname().nodename, "pid": os.getpid(),
            "version": "%d.%d.%d" % sys.version_info[:3], "value": sum(f(i / n) for i in range(n)) / n}
`
	args, _ := json.Marshal(funcx.PythonArgs{Args: []any{"sin", 1000}})
	type answer struct {
		Image, Hostname, Version string
		PID                      int
		Value                    float64
	}
	call := func() (funcx.Result, answer) {
		t.Helper()
		task := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.Python(src, "where"), Args: args, Container: pythonImage}
		if err := e.Submit(task); err != nil {
			t.Fatal(err)
		}
		select {
		case batch := <-e.Results():
			r := batch[0]
			if r.State != funcx.StateSuccess {
				t.Fatalf("python task failed: %v\n%s", r.Error, r.Err())
			}
			var a answer
			if err := json.Unmarshal(r.Output, &a); err != nil {
				t.Fatalf("output %q: %v", r.Output, err)
			}
			return r, a
		case <-time.After(2 * time.Minute):
			t.Fatalf("no result; status %+v", e.Status().Interchange)
			panic("unreachable")
		}
	}
	r, first := call()
	if first.Image != "python" || first.Value < 0.45 || first.Value > 0.46 || string(r.Stdout) != "running in python\n" {
		t.Fatalf("first task: %+v, stdout %q", first, r.Stdout)
	}
	found := false
	for _, id := range runContainers(t, e.RunID()) {
		found = found || strings.HasPrefix(id, first.Hostname)
	}
	if !found {
		t.Fatalf("the task ran on host %q, which is no container of the run", first.Hostname)
	}
	host, _ := exec.Command(pythontest.Command(t), "-c", `import sys; print("%d.%d.%d" % sys.version_info[:3])`).Output()
	if first.Version != strings.TrimSpace(string(host)) {
		t.Fatalf("the container's python is %s, the host's %s", first.Version, host)
	}
	_, second := call()
	if second.Hostname != first.Hostname || second.PID != first.PID {
		t.Fatalf("the second task ran in %s pid %d, not the warm interpreter %s pid %d", second.Hostname, second.PID, first.Hostname, first.PID)
	}
	_, w := run(t, e, whereami(pythonImage))
	if w.Hostname != first.Hostname || w.Image != "python" {
		t.Fatalf("a Go function of the same image ran in %+v", w)
	}
}
