package funcx

import (
	"fmt"
	"time"
)

// FunctionKind says how a worker runs a function.
type FunctionKind uint8

const (
	// KindShell runs a command: an argv, or a script given to /bin/sh -c.
	KindShell FunctionKind = 1
	// KindGo calls a Go function registered in the worker binary with
	// worker.Register.
	KindGo FunctionKind = 2
	// KindPython calls a Python function, given by its source and entry
	// name, in a long-lived python3 interpreter of the worker (see Python).
	KindPython FunctionKind = 3
)

func (k FunctionKind) String() string {
	switch k {
	case KindShell:
		return "shell"
	case KindGo:
		return "go"
	case KindPython:
		return "python"
	default:
		return fmt.Sprintf("FunctionKind(%d)", uint8(k))
	}
}

// Function is what a task runs. Exactly one of Name (KindGo),
// Argv/Script (KindShell) or Script and Name (KindPython) is meaningful.
//
// Shell functions substitute the task's arguments: every "{key}" in Script
// and in each element of Argv is replaced by the value of key in the task's
// JSON-object arguments ("{{" and "}}" stand for literal braces).
type Function struct {
	Kind FunctionKind

	// Name is the registered name of a Go function (KindGo), or the entry
	// of a Python function (KindPython): the name its Script binds to the
	// callable a task calls.
	Name string

	// Argv is the command to execute directly (KindShell), without a shell.
	Argv []string
	// Script is a shell script run as /bin/sh -c Script (KindShell), used
	// when Argv is empty; or the source of a Python function (KindPython),
	// at most MaxPythonSource bytes.
	Script string
	// Env holds extra environment variables for the command, added to the
	// worker's environment (KindShell only).
	Env map[string]string
	// Dir is the working directory of the command; empty means the
	// worker's own (KindShell only).
	Dir string

	// Timeout bounds one run of the function; zero means no limit. A task
	// that runs past it fails with TaskTimeout.
	Timeout time.Duration
	// OutputLimit caps the captured stdout and stderr (each) in bytes; the
	// rest is dropped and the result marked truncated. Zero means
	// DefaultOutputLimit.
	OutputLimit int
}

// DefaultOutputLimit is the default cap on captured stdout and stderr, each.
const DefaultOutputLimit = 1 << 20

// Validate reports whether the function can be run at all.
func (f *Function) Validate() error {
	switch f.Kind {
	case KindShell:
		if len(f.Argv) == 0 && f.Script == "" {
			return fmt.Errorf("shell function: set Argv or Script")
		}
		if len(f.Argv) > 0 && f.Argv[0] == "" {
			return fmt.Errorf("shell function: Argv[0] is empty")
		}
	case KindGo:
		if f.Name == "" {
			return fmt.Errorf("go function: Name is empty")
		}
	case KindPython:
		if err := f.validatePython(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("function kind %d is unknown: use KindShell, KindGo or KindPython", f.Kind)
	}
	if f.Timeout < 0 {
		return fmt.Errorf("function timeout %s is negative", f.Timeout)
	}
	if f.OutputLimit < 0 {
		return fmt.Errorf("function output limit %d is negative", f.OutputLimit)
	}
	return nil
}

// Shell returns a shell function that runs script with /bin/sh -c.
func Shell(script string) Function { return Function{Kind: KindShell, Script: script} }

// Command returns a shell function that executes argv directly.
func Command(argv ...string) Function { return Function{Kind: KindShell, Argv: argv} }

// GoFunc returns a reference to the Go function registered under name.
func GoFunc(name string) Function { return Function{Kind: KindGo, Name: name} }
