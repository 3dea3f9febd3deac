package funcx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/funcx-go/funcx"
)

func TestTaskStateText(t *testing.T) {
	t.Parallel()
	for s := funcx.StateUnknown; s <= funcx.StateFailed; s++ {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back funcx.TaskState
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%v: round trip gave %v, %v", s, back, err)
		}
	}
	if funcx.StateRunning.String() != "running" || !funcx.StateFailed.Terminal() || funcx.StateRunning.Terminal() {
		t.Fatal("names or terminal states are off")
	}
	if _, err := funcx.ParseTaskState("exploded"); err == nil {
		t.Fatal("unknown state parsed")
	}
}

func TestTaskErrorMatchesItsKind(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", funcx.Errorf(funcx.WorkerLost, "worker %d died", 3))
	if !errors.Is(err, funcx.ErrWorkerLost) || errors.Is(err, funcx.ErrManagerLost) {
		t.Fatalf("errors.Is does not follow the kind: %v", err)
	}
	var te *funcx.TaskError
	if !errors.As(err, &te) || te.Message != "worker 3 died" || err.Error() != "wrapped: WorkerLost: worker 3 died" {
		t.Fatalf("got %v", err)
	}
	if !funcx.WorkerLost.IsSystemFailure() || funcx.RemoteError.IsSystemFailure() {
		t.Fatal("system failures are WorkerLost and ManagerLost")
	}
	b, _ := json.Marshal(funcx.TaskTimeout)
	var k funcx.ErrorKind
	if err := json.Unmarshal(b, &k); err != nil || k != funcx.TaskTimeout {
		t.Fatalf("kind round trip: %v %v", k, err)
	}
}

// EndpointDeleted has a sentinel and a text form like every kind, and
// an unknown kind encodes as InternalError, not as the newest kind.
func TestEndpointDeletedKind(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("task x: %w", funcx.Errorf(funcx.EndpointDeleted, "endpoint e was deleted"))
	if !errors.Is(err, funcx.ErrEndpointDeleted) || errors.Is(err, funcx.ErrCancelled) || funcx.EndpointDeleted.IsSystemFailure() {
		t.Fatalf("errors.Is does not follow the kind: %v", err)
	}
	if err.Error() != "task x: EndpointDeleted: endpoint e was deleted" {
		t.Fatalf("text %q", err)
	}
	b, _ := json.Marshal(funcx.EndpointDeleted)
	var k funcx.ErrorKind
	if err := json.Unmarshal(b, &k); string(b) != `"EndpointDeleted"` || err != nil || k != funcx.EndpointDeleted {
		t.Fatalf("kind round trip: %s -> %v %v", b, k, err)
	}
	if b, _ := json.Marshal(funcx.ErrorKind(200)); string(b) != `"InternalError"` {
		t.Fatalf("an unknown kind encodes as %s", b)
	}
}

func TestFunctionValidate(t *testing.T) {
	t.Parallel()
	good := []funcx.Function{funcx.Shell("true"), funcx.Command("true"), funcx.GoFunc("noop"),
		funcx.Python("def f():\n    pass\n", "f"), funcx.Python("def _ünï2(): pass", "_ünï2")}
	for _, f := range good {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	bad := map[string]funcx.Function{
		"empty shell":      {Kind: funcx.KindShell},
		"empty argv0":      {Kind: funcx.KindShell, Argv: []string{""}},
		"unnamed go":       {Kind: funcx.KindGo},
		"unknown kind":     {Kind: 9, Name: "x"},
		"negative timeout": {Kind: funcx.KindGo, Name: "x", Timeout: -1},
		"python no source": funcx.Python("", "f"),
		"python no entry":  funcx.Python("def f(): pass", ""),
		"python entry 1f":  funcx.Python("def f(): pass", "1f"),
		"python entry a.b": funcx.Python("def f(): pass", "a.b"),
		"python NUL":       funcx.Python("def f(): pass\x00", "f"),
		"python too large": funcx.Python("def f(): pass\n"+strings.Repeat("#", funcx.MaxPythonSource), "f"),
		"python argv":      {Kind: funcx.KindPython, Script: "def f(): pass", Name: "f", Argv: []string{"x"}},
		"python env":       {Kind: funcx.KindPython, Script: "def f(): pass", Name: "f", Env: map[string]string{"A": "1"}},
		"python dir":       {Kind: funcx.KindPython, Script: "def f(): pass", Name: "f", Dir: "/tmp"},
	}
	for name, f := range bad {
		if err := f.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestPythonArgsJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(funcx.PythonArgs{Args: []any{"sin", 1000}, Kwargs: map[string]any{"scale": 2}})
	if err != nil || string(b) != `{"args":["sin",1000],"kwargs":{"scale":2}}` {
		t.Fatalf("got %s, %v", b, err)
	}
	if b, _ := json.Marshal(funcx.PythonArgs{}); string(b) != `{}` {
		t.Fatalf("no arguments encode as %s", b)
	}
	if funcx.KindPython.String() != "python" {
		t.Fatalf("KindPython is %q", funcx.KindPython)
	}
}

func TestCheckPythonArgs(t *testing.T) {
	t.Parallel()
	for _, good := range []string{``, `{}`, `{"args":[1,"a"]}`, `{"kwargs":{"x":1}}`, `{"args":null,"kwargs":null}`, ` {"args": [ ], "kwargs": { } } `} {
		if err := funcx.CheckPythonArgs([]byte(good)); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for bad, want := range map[string]string{
		`[1,2]`:              "must be a JSON object",
		`{"args":{"a":1}}`:   `"args" must be an array`,
		`{"kwargs":[1]}`:     `"kwargs" an object`,
		`{"argz":[]}`:        `unknown key "argz"`,
		`{"args":[1]`:        "must be a JSON object",
		`{"args":[1]} trail`: "must be a JSON object",
		`"just a string"`:    "must be a JSON object",
	} {
		err := funcx.CheckPythonArgs([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", bad, err, want)
		}
	}
}
