package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// pythonRunner is a fake endpoint for Python functions: it returns the
// call's arguments as the output, prints the entry's name, and fails with
// a remote traceback when the entry is "fail".
func pythonRunner(fn api.Function, t api.TaskSubmit) *api.TaskResult {
	if fn.Entry == "fail" {
		return &api.TaskResult{Stdout: []byte("about to fail\n"), Error: &api.TaskError{Kind: "RemoteError",
			Message: "ZeroDivisionError: division by zero", Stack: "Traceback (most recent call last):\n  File \"x.py\", line 2\nZeroDivisionError: division by zero\n"}}
	}
	return &api.TaskResult{Output: json.RawMessage(t.Args), Stdout: []byte("called " + fn.Entry + "\n")}
}

func TestRunPython(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{Run: pythonRunner})
	ep := w.srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})
	file := filepath.Join(t.TempDir(), "integrate.py")
	source := "import math\n\ndef integrate(f_name, n):\n    f = getattr(math, f_name)\n    return sum(f(i / n) for i in range(n)) / n\n"
	if err := os.WriteFile(file, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("arguments as JSON or strings, result on stdout", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "-e", ep, "--timeout", "1m", "--python", file+":integrate", "--kwarg", "scale=2", "--kwarg", "label=x y", "--", "sin", "1000", `[1,"a"]`, "true", "{not json")
		if r.code != 0 || r.stderr != "called integrate\n" {
			t.Fatalf("got %+v", r)
		}
		var call struct {
			Args   []any          `json:"args"`
			Kwargs map[string]any `json:"kwargs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &call); err != nil {
			t.Fatalf("stdout %q: %v", r.stdout, err)
		}
		want := `{"args":["sin",1000,[1,"a"],true,"{not json"],"kwargs":{"label":"x y","scale":2}}`
		if got, _ := json.Marshal(call); string(got) != want {
			t.Fatalf("the function got %s, want %s", got, want)
		}
		var fn *api.Function
		for _, task := range w.srv.Tasks() {
			if f := w.srv.Function(task.FunctionID); f.Entry == "integrate" {
				fn = f
			}
		}
		if fn == nil || fn.Kind != "python" || fn.Source != source || fn.Timeout != "1m0s" || fn.Name != "integrate.py:integrate" {
			t.Fatalf("registered %+v", fn)
		}
	})
	t.Run("a raised exception", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "-e", ep, "--python", file+":fail")
		if r.code != exitTaskFailed || r.stdout != "" || !strings.Contains(r.stderr, "about to fail\n") ||
			!strings.Contains(r.stderr, "Traceback (most recent call last):") || !strings.Contains(r.stderr, "RemoteError: ZeroDivisionError: division by zero") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--python", file}, "give FILE.py:FUNC"},
			{[]string{"--python", file + ":not-a-name"}, `entry "not-a-name" is not a Python identifier`},
			{[]string{"--python", "/nonexistent.py:f"}, "no such file"},
			{[]string{"--python", file + ":integrate", "--stdin"}, "--stdin is for commands"},
			{[]string{"--kwarg", "a=1", "--", "true"}, "--kwarg is for --python functions"},
		} {
			r := w.run(t, append([]string{"run", "-e", ep}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%v: got %+v, want %q", tc.args, r, tc.want)
			}
		}
	})
	t.Run("register-function --python", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "register-function", "--name", "integrate", "--python", file+":integrate", "--timeout", "5s")
		if r.code != 0 {
			t.Fatalf("got %+v", r)
		}
		fn := w.srv.Function(strings.TrimSpace(r.stdout))
		if fn == nil || fn.Kind != "python" || fn.Source != source || fn.Entry != "integrate" || fn.Script != "" || fn.Timeout != "5s" {
			t.Fatalf("registered %+v", fn)
		}
		if r := w.run(t, "register-function", "--name", "x", "--python", file+":integrate", "--script", "true"); r.code == 0 {
			t.Fatalf("--python with --script: %+v", r)
		}
	})
	t.Run("help says how arguments parse", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "falling back") || !strings.Contains(r.stdout, "--python FILE.py:FUNC") {
			t.Fatalf("got %+v", r)
		}
	})
}
