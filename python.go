package funcx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// MaxPythonSource is the most bytes of source a Python function may have.
// The source travels with every task of the function, so a function that
// needs more belongs in a module installed on the endpoint, which its
// source imports.
const MaxPythonSource = 64 << 10

// Python returns a Python function: source is Python code that defines
// entry (a def, usually, as inspect.getsource gives it), and a task calls
// entry with the task's arguments (see PythonArgs). The worker runs it in
// a long-lived python3 interpreter that compiles the source once and keeps
// it for the next tasks of the same function; the value entry returns
// comes back as the Result's Output, in JSON. No pickled object ever
// crosses the wire: arguments and results are JSON only.
//
//	fn := funcx.Python("def add(a, b):\n    return a + b\n", "add")
func Python(source, entry string) Function {
	return Function{Kind: KindPython, Script: source, Name: entry}
}

// PythonArgs is the JSON form of a Python task's arguments, what a task's
// Args holds for a KindPython function: the positional and keyword
// arguments of the call. Empty Args (no JSON at all) calls with none.
//
//	{"args": ["sin", 1000], "kwargs": {"scale": 2}}
type PythonArgs struct {
	Args   []any          `json:"args,omitempty"`
	Kwargs map[string]any `json:"kwargs,omitempty"`
}

// validatePython checks a KindPython function.
func (f *Function) validatePython() error {
	switch {
	case f.Script == "":
		return errors.New("python function: the source (Script) is empty")
	case len(f.Script) > MaxPythonSource:
		return fmt.Errorf("python function: the source is %d bytes, more than %d: move the bulk into a module installed on the endpoint and import it", len(f.Script), MaxPythonSource)
	case strings.IndexByte(f.Script, 0) >= 0:
		return errors.New("python function: the source contains a NUL byte")
	case !pythonIdentifier(f.Name):
		return fmt.Errorf("python function: entry %q is not a Python identifier: name the function the source defines", f.Name)
	case len(f.Argv) > 0:
		return errors.New("python function: Argv is for shell functions")
	case len(f.Env) > 0 || f.Dir != "":
		return errors.New("python function: Env and Dir are for shell functions; set os.environ or call os.chdir in the function")
	}
	return nil
}

// pythonIdentifier reports whether s is a Python identifier (a letter or
// underscore, then letters, digits and underscores), up to 255 bytes.
func pythonIdentifier(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// CheckPythonArgs reports whether args is the JSON of PythonArgs: empty,
// or an object with at most the keys "args" (an array) and "kwargs" (an
// object). The service checks it at submission, so that a malformed call
// is refused at once rather than failing on the endpoint.
func CheckPythonArgs(args []byte) error {
	if len(args) == 0 {
		return nil
	}
	var call map[string]json.RawMessage
	if err := json.Unmarshal(args, &call); err != nil {
		return fmt.Errorf(`python arguments must be a JSON object {"args": [...], "kwargs": {...}}: %w`, err)
	}
	for k, v := range call {
		v = bytes.TrimLeft(v, " \t\r\n")
		switch {
		case k == "args" && (len(v) > 0 && (v[0] == '[' || v[0] == 'n')):
		case k == "kwargs" && (len(v) > 0 && (v[0] == '{' || v[0] == 'n')):
		case k == "args" || k == "kwargs":
			return fmt.Errorf(`python arguments: "args" must be an array and "kwargs" an object, got %s`, clip(v))
		default:
			return fmt.Errorf(`python arguments: unknown key %q: use "args" for positional and "kwargs" for keyword arguments`, k)
		}
	}
	return nil
}

// clip shortens a JSON value for an error message.
func clip(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "..."
	}
	return string(v)
}
